//! `GET /v1/admin/keys/{name}` → versions with state and timestamps, the active version, grants
//! and history.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_control::keys::list::show;

use crate::error::ApiError;
use crate::state::AppState;

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let name = name.into_inner();
    super::key_admin(&state, &req, &name, "read_key").await?;
    let view = state
        .on_control(|ctl| async move { show(&ctl, &name).await })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}
