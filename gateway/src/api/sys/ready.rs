//! `GET /readyz`: whether a load balancer should send this node traffic.
//!
//! 200 `{"status":"ready"}`: unsealed, holding a master key, and in touch with the store.
//! On a PKCS#11 HSM, "holding a master key" is read from the store (an active master key).
//! 200 `{"status":"degraded"}`: serving every cached key, but the key sync cannot reach the store
//! (rotations made meanwhile are not seen yet; creating keys fails).
//! 503 `{"status":"sealed"}` or `{"status":"not_initialized"}`: it cannot serve.

use actix_web::{HttpResponse, web};
use kms_engine::master_key::MasterKeyState;
use serde_json::json;

use crate::error::ApiError;
use crate::state::AppState;

pub async fn handle(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let st = state.clone().into_inner();
    let (seal, has_master_key) = state
        .io(async move {
            let seal = st.control.hsm.seal_status().await?;
            // A PKCS#11 token has nothing to unseal, so it reports itself initialised; whether
            // the KMS is is the store's to say: it holds an active master key. (The software HSM
            // knows, from its sealed file; a service node's zone backend serves the store's.)
            // A store that cannot answer is the key sync's to report (`degraded`).
            let has = seal.backend != "pkcs11"
                || st.control.store.master_keys().await.map_or(true, |keys| {
                    keys.iter().any(|k| k.state == MasterKeyState::Active)
                });
            Ok((seal, has))
        })
        .await?;
    let (ok, status) = if !seal.initialized || !has_master_key {
        (false, "not_initialized")
    } else if seal.sealed {
        (false, "sealed")
    } else if !state.control.sync.is_healthy() {
        (true, "degraded")
    } else {
        (true, "ready")
    };
    let body = json!({
        "status": status,
        "sync_revision": state.control.sync.applied(),
        "sync_lag_seconds": state.control.sync.since_contact().as_secs_f64(),
    });
    Ok(if ok {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable()
            .insert_header(("Retry-After", "5"))
            .json(body)
    })
}
