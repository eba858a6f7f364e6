//! `POST /v1/hsm/ceremonies` (custodian) `{"operation":"create|rotate|load|destroy",
//! "source":"generate|components","components":3,"shares":5,"threshold":3,"master_key_id":"mk-…"}`
//! → `201` the ceremony, waiting for approvals.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_control::ceremony::plan::StartRequest;
use kms_control::ceremony::run::start;

use super::as_custodian;
use crate::error::ApiError;
use crate::state::AppState;

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<StartRequest>,
) -> Result<HttpResponse, ApiError> {
    let request = body.into_inner();
    let view = as_custodian(
        &state,
        &req,
        "ceremony_start",
        None,
        move |ctl, who, remote| async move { start(&ctl, &who, request, remote).await },
    )
    .await?;
    Ok(HttpResponse::Created().json(view))
}
