//! `GET /v1/hsm/rotations` (administrator) → master-key rotation jobs not yet done, with progress.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_control::hsm_status;

use crate::auth;
use crate::error::ApiError;
use crate::state::AppState;

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    auth::require_admin(&state, &req, "hsm_rotations", None).await?;
    let body = state
        .on_control(|ctl| async move { hsm_status::rotations(&ctl).await })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}
