//! `GET` (or `HEAD`) `/v1/sys/health`: Vault's health check, which Vault clients and their health
//! indicators call, in Vault's shape and status codes: 200 initialised and unsealed, 503 sealed,
//! 501 not initialised; `activecode`, `sealedcode` and `uninitcode` change them, as in Vault. No
//! token. (The KMS's own checks are `/healthz` and `/readyz`.)

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use crate::error::ApiError;
use crate::state::AppState;

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let st = state.clone().into_inner();
    let seal = state
        .io(async move { Ok(st.control.hsm.seal_status().await?) })
        .await?;
    let query = web::Query::<HashMap<String, String>>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .unwrap_or_default();
    let (param, default) = if !seal.initialized {
        ("uninitcode", StatusCode::NOT_IMPLEMENTED)
    } else if seal.sealed {
        ("sealedcode", StatusCode::SERVICE_UNAVAILABLE)
    } else {
        ("activecode", StatusCode::OK)
    };
    let status = query
        .get(param)
        .and_then(|c| c.parse::<u16>().ok())
        .and_then(|c| StatusCode::from_u16(c).ok())
        .unwrap_or(default);
    Ok(HttpResponse::build(status).json(json!({
        "initialized": seal.initialized,
        "sealed": seal.sealed,
        "standby": false,
        // Vault sends it (OpenBao does not), and Vault clients such as vaultrs require it.
        "performance_standby": false,
        "replication_performance_mode": "disabled",
        "replication_dr_mode": "disabled",
        "server_time_utc": state.clock.now().millis().div_euclid(1000),
        "version": concat!(env!("CARGO_PKG_VERSION"), "+kms"),
        "cluster_name": "kms",
        // One KMS is no cluster of Vault's: an empty id, of the type clients expect.
        "cluster_id": "",
    })))
}
