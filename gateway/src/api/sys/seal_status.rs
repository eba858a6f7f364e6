//! `GET /v1/sys/seal-status` → `{"backend","initialized","sealed","threshold","shares","progress"}`
//! to anyone (custodians unsealing a server need it, and can authenticate nothing yet); with a
//! token allowed `hsm_status` (an administrator), also `"master_key_id","kcv"`. A token that is
//! not an administrator's is refused like on `/v1/hsm/status`. `initialized` means the store
//! records an active master key.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_engine::master_key::MasterKeyState;
use serde_json::json;

use crate::auth;
use crate::error::ApiError;
use crate::state::AppState;

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let admin = match auth::token(&req) {
        None => false,
        Some(_) => {
            auth::require_admin(&state, &req, "hsm_status", None).await?;
            true
        }
    };
    let st = state.clone().into_inner();
    let body = state
        .io(async move {
            let seal = st.control.hsm.seal_status().await?;
            let active = st
                .control
                .store
                .master_keys()
                .await?
                .into_iter()
                .find(|k| k.state == MasterKeyState::Active);
            let mut body = json!({
                "backend": seal.backend,
                "initialized": active.is_some(),
                "sealed": seal.sealed,
                "threshold": seal.threshold,
                "shares": seal.shares,
                "progress": seal.progress,
            });
            if admin {
                body["master_key_id"] = json!(active.as_ref().map(|k| k.id.to_string()));
                body["kcv"] = json!(active.as_ref().map(|k| k.kcv.to_string()));
            }
            Ok(body)
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}
