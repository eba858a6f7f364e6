//! `GET /v1/admin/keys` → `{"keys":[{"name","id","algorithm","active_version"}]}`, by name.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_control::keys::list::list;

use crate::auth;
use crate::error::ApiError;
use crate::state::AppState;

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    auth::require_admin(&state, &req, "list_keys", None).await?;
    let keys = state
        .on_control(|ctl| async move { list(&ctl).await })
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "keys": keys })))
}
