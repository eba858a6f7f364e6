//! `GET /v1/hsm/rekey` (custodian) → the open rekey: nonce, plan, progress, who submitted
//! (`404 rekey_not_started` when there is none).

use actix_web::{HttpRequest, HttpResponse, web};
use kms_control::shares::rekey::status;

use crate::api::hsm::custodian;
use crate::error::ApiError;
use crate::state::AppState;

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    custodian(&state, &req, "rekey_status", None).await?;
    Ok(HttpResponse::Ok().json(status(&state.control)?))
}
