//! `GET /v1/passwords/{key}/public-key` → `{"key_version","pem","jwk"}`: the active version's
//! RSA public key (SPKI PEM, and as a JWK for WebCrypto's `importKey("jwk", ...)`,
//! RSA-OAEP-256). Any grant on the key allows it.

use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, web};
use kms_engine::crypto::password::jwk_numbers;
use kms_engine::keyring::KeyEntry;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::state::AppState;

/// The body, for an authorised caller.
pub async fn public_key(state: &AppState, key: Arc<KeyEntry>) -> Result<Value, ApiError> {
    let version = key.active;
    let pem = state.pool.public_key(key, version).await?;
    let (n, e) = jwk_numbers(&pem)?;
    Ok(json!({
        "key_version": version.get(),
        "pem": pem,
        "jwk": { "kty": "RSA", "n": n, "e": e, "alg": "RSA-OAEP-256", "use": "enc" },
    }))
}

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: super::Path,
) -> Result<HttpResponse, ApiError> {
    let (_, key) = super::authorize(&state, &req, &name, None, "password-public-key").await?;
    Ok(HttpResponse::Ok().json(public_key(&state, key).await?))
}
