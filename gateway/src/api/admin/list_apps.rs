//! `GET /v1/admin/apps` → `{"apps":[{"id","name","created_at","tokens":[...]}]}`, by name. Tokens
//! are listed by id with their lifetimes; a token itself is never shown again.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_control::apps::view::list;

use crate::auth;
use crate::error::ApiError;
use crate::state::AppState;

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    auth::require_admin(&state, &req, "list_apps", None).await?;
    let apps = state
        .on_control(|ctl| async move { list(&ctl).await })
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "apps": apps })))
}
