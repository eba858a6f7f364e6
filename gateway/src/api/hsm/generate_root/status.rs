//! `GET /v1/hsm/generate-root` (custodian) → the open root-token generation: nonce, key
//! fingerprint, progress, who submitted (`404 generate_root_not_started` when there is none).

use actix_web::{HttpRequest, HttpResponse, web};
use kms_control::shares::generate_root::status;

use crate::api::hsm::custodian;
use crate::error::ApiError;
use crate::state::AppState;

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    custodian(&state, &req, "generate_root_status", None).await?;
    Ok(HttpResponse::Ok().json(status(&state.control)?))
}
