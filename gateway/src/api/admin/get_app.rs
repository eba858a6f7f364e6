//! `GET /v1/admin/apps/{name}` → the app with its tokens' ids and lifetimes.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_control::apps::view::show;

use super::app_admin;
use crate::error::ApiError;
use crate::state::AppState;

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let name = name.into_inner();
    app_admin(&state, &req, &name, "get_app").await?;
    let app = state
        .on_control(|ctl| async move { show(&ctl, &name).await })
        .await?;
    Ok(HttpResponse::Ok().json(app))
}
