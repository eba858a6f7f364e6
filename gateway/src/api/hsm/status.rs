//! `GET /v1/hsm/status` (administrator) → every token with its health and the master keys it
//! holds, and the master keys the store records (id, KCV, origin, state).

use actix_web::{HttpRequest, HttpResponse, web};
use kms_control::hsm_status;

use crate::auth;
use crate::error::ApiError;
use crate::state::AppState;

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    auth::require_admin(&state, &req, "hsm_status", None).await?;
    let body = state
        .on_control(|ctl| async move { hsm_status::status(&ctl).await })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}
