//! `POST /v1/hsm/generate-root/init` (custodian) `{"public_key":"<PEM>"}` (the RSA key the new
//! root token is encrypted to) → `201` the attempt: its `nonce` and the current shares
//! `required`. `409` while another attempt is open.

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
