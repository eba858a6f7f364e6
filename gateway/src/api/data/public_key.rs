//! `GET /v1/keys/{name}/public-key[?version=N]` → `{"key_version":N,"algorithm","pem"}`: the
//! public half of an RSA, ECDSA, Ed25519 or SM2 version (SPKI PEM). Any grant on the key allows
//! it; the default version is the active one.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use kms_engine::EngineError;
use kms_engine::ids::KeyVersion;
use serde::Deserialize;
use serde_json::json;

use crate::auth;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Query {
    version: Option<u32>,
}

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: super::Path,
    query: web::Query<Query>,
) -> Result<HttpResponse, ApiError> {
    let (_, key) = auth::authorize_key_any(&state, &req, &name, "public-key").await?;
    if !key.algorithm.has_public_key() {
        return Err(EngineError::OperationNotSupported("public-key").into());
    }
    let version = match query.version {
        Some(v) => KeyVersion::new(v)?,
        None => key.active,
    };
    let pem = state
        .pool
        .public_key(std::sync::Arc::clone(&key), version)
        .await?;
    Ok(HttpResponse::build(StatusCode::OK).json(json!({
        "key_version": version.get(),
        "algorithm": key.algorithm.name(),
        "pem": pem,
    })))
}
