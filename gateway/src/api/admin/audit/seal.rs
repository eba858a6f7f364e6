//! `POST /v1/admin/audit/seal` → `{"seq","head","at"}`: seals the chain's head now (the scheduler
//! also seals it on its own every minute when it has moved).

use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine as _;

use crate::error::ApiError;
use crate::state::AppState;
use kms_control::audit_chain;

use crate::auth;

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    auth::require_admin(&state, &req, "seal_audit", None).await?;
    let seal = state
        .on_control(|ctl| async move { audit_chain::seal(&ctl, 0).await })
        .await?;
    Ok(HttpResponse::Ok().json(seal.map(|s| {
        serde_json::json!({
            "seq": s.seq,
            "head": base64::engine::general_purpose::STANDARD.encode(s.head),
            "at": s.at.rfc3339(),
        })
    })))
}
