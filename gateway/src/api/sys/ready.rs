//! `GET /readyz`: whether a load balancer should send this node traffic.
//!
//! 200 `{"status":"ready"}`: unsealed, holding a master key, and in touch with the store.
//! 200 `{"status":"degraded"}`: serving every cached key, but the key sync cannot reach the store
//! (rotations made meanwhile are not seen yet; creating keys fails).
//! 503 `{"status":"sealed"}` or `{"status":"not_initialized"}`: it cannot serve.

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::error::ApiError;
use crate::state::AppState;

pub async fn handle(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let st = state.clone().into_inner();
    let seal = state
        .io(async move { Ok(st.control.hsm.seal_status().await?) })
        .await?;
    let (ok, status) = if !seal.initialized {
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
