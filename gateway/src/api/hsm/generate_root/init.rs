//! `POST /v1/hsm/generate-root/init` (custodian) `{"shares":5,"threshold":3,"share_keys":["<PEM>",...]?}`
//! → `201` the attempt: its `nonce`, the current shares `required`, and the plan with the new
//! share keys' fingerprints. `409 rekey_in_progress` while another is open.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_control::shares::generate_root::{InitRequest, init};

use crate::api::hsm::{custodian, remote};
use crate::error::ApiError;
use crate::state::AppState;

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<InitRequest>,
) -> Result<HttpResponse, ApiError> {
    let who = custodian(&state, &req, "generate_root_init", None).await?;
    let request = body.into_inner();
    let remote = remote(&req);
    let view = state
        .on_control(move |ctl| async move { init(&ctl, &who, request, remote).await })
        .await?;
    Ok(HttpResponse::Created().json(view))
}
