//! `GET /v1/sys/seal-status` → `{"backend","initialized","sealed","threshold","shares","progress",
//! "master_key_id","kcv"}`. `initialized` means the store records an active master key.

use actix_web::{HttpResponse, web};
use kms_engine::master_key::MasterKeyState;
use serde_json::json;

use crate::error::ApiError;
use crate::state::AppState;

pub async fn handle(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
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
            Ok(json!({
                "backend": seal.backend,
                "initialized": active.is_some(),
                "sealed": seal.sealed,
                "threshold": seal.threshold,
                "shares": seal.shares,
                "progress": seal.progress,
                "master_key_id": active.as_ref().map(|k| k.id.to_string()),
                "kcv": active.as_ref().map(|k| k.kcv.to_string()),
            }))
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}
