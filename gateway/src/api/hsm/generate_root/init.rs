//! `POST /v1/hsm/generate-root/init` (custodian) `{"public_key":"<PEM>"}` (the RSA key the new
//! root token is encrypted to) → `201` the attempt: its `nonce` and the current shares
//! `required`. `409` while another attempt is open.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_control::shares::generate_root::{InitRequest, init};

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
        "generate_root_init",
        None,
        move |ctl, who, remote| async move { init(&ctl, &who, request, remote).await },
    )
    .await?;
    Ok(HttpResponse::Created().json(view))
}
