//! `POST /v1/hsm/rekey/cancel` (custodian) → the attempt that was open; its shares are forgotten
//! and the current shares stay valid.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_control::shares::rekey::cancel;

use crate::api::hsm::{custodian, remote};
use crate::error::ApiError;
use crate::state::AppState;

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let who = custodian(&state, &req, "rekey_cancel", None).await?;
    let remote = remote(&req);
    let view = state
        .on_control(move |ctl| async move { cancel(&ctl, &who, remote).await })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}
