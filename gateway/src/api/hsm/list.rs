//! `GET /v1/hsm/ceremonies` (custodian) → `{"ceremonies":[...]}`: every ceremony the server keeps
//! (open ones, and those that ended in the last day), oldest first, each as
//! `GET /v1/hsm/ceremonies/{id}` shows it: approvals so far, what the quorum requires, state.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use super::custodian;
use crate::error::ApiError;
use crate::state::AppState;

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    custodian(&state, &req, "ceremony_list", None).await?;
    let ceremonies = state.control.ceremonies.list(state.clock.as_ref())?;
    Ok(HttpResponse::Ok().json(json!({ "ceremonies": ceremonies })))
}
