//! `POST /v1/hsm/rekey/init` (custodian) `{"shares":5,"threshold":3,"share_keys":["<PEM>",...]?}`
//! → `201` the attempt: its `nonce`, the current shares `required`, and the plan with the new
//! share keys' fingerprints. `409 rekey_in_progress` while another is open.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_control::shares::rekey::{InitRequest, init};

use crate::api::hsm::as_custodian;
use crate::error::ApiError;
use crate::state::AppState;

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<InitRequest>,
) -> Result<HttpResponse, ApiError> {
    let request = body.into_inner();
    let view = as_custodian(
        &state,
        &req,
        "rekey_init",
        None,
        move |ctl, who, remote| async move { init(&ctl, &who, request, remote).await },
    )
    .await?;
    Ok(HttpResponse::Created().json(view))
}
