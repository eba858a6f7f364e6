//! `POST /v1/hsm/rekey/cancel` (custodian) → the attempt that was open; its shares are forgotten
//! and the current shares stay valid.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_control::shares::rekey::cancel;

use crate::api::hsm::as_custodian;
use crate::error::ApiError;
use crate::state::AppState;

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let view = as_custodian(
        &state,
        &req,
        "rekey_cancel",
        None,
        move |ctl, who, remote| async move { cancel(&ctl, &who, remote).await },
    )
    .await?;
    Ok(HttpResponse::Ok().json(view))
}
