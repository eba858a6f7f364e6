//! `GET /v1/hsm/ceremonies/{id}` (custodian) → the ceremony: approvals so far, state, result.

use actix_web::{HttpRequest, HttpResponse, web};

use super::custodian;
use crate::error::ApiError;
use crate::state::AppState;

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    custodian(
        &state,
        &req,
        "ceremony_show",
        Some(format!("ceremony:{id}")),
    )
    .await?;
    let view = state.control.ceremonies.view(&id, state.clock.as_ref())?;
    Ok(HttpResponse::Ok().json(view))
}
