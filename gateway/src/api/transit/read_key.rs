//! `GET {mount}/keys/:name` → the key in Vault's shape: `type`, `keys` (version → creation time,
//! or for key pairs version → `{creation_time, name, public_key}`), `latest_version`,
//! `min_available_version`, `min_decryption_version`, `min_encryption_version`, `supports_*`, ...
//! An administrator, or an app holding any grant on the key.

use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, web};
use kms_engine::EngineError;
use kms_engine::algorithm::{Algorithm, Family, Operation};
use kms_engine::ciphertext::{decode_b64, encode_b64};
use kms_engine::ids::KeyVersion;
use kms_engine::keyring::{KeyEntry, VersionEntry};
use kms_engine::version::VersionState;
use serde_json::{Map, Value, json};

use super::envelope::{self, VaultError};
use super::{Name, vault_type};
use crate::auth;
use crate::error::ApiError;
use crate::state::AppState;

/// Versions Vault would still list: not destroyed, nor waiting to be (Vault's trim removes them).
fn available(v: &VersionEntry) -> bool {
    !matches!(
        v.state,
        VersionState::ScheduledForDestruction | VersionState::Destroyed
    )
}

/// Vault's `name` of a key pair's curve or size.
fn pair_name(algorithm: Algorithm) -> &'static str {
    match algorithm {
        Algorithm::EcdsaP256 => "P-256",
        other => other.name(),
    }
}

/// A version's public key as Vault shows it: PEM, but for Ed25519 the base64 of its 32 bytes.
pub async fn public_key(
    state: &AppState,
    key: &Arc<KeyEntry>,
    version: KeyVersion,
) -> Result<String, EngineError> {
    let pem = state.pool.public_key(Arc::clone(key), version).await?;
    if key.algorithm.family() != Family::Ed25519 {
        return Ok(pem);
    }
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = decode_b64("public_key", &body)?;
    Ok(encode_b64(&der[der.len().saturating_sub(32)..]))
}

/// The key as Vault's read answers it.
pub async fn key_data(state: &AppState, key: &Arc<KeyEntry>) -> Value {
    let algorithm = key.algorithm;
    let mut keys = Map::new();
    for v in key.versions().iter().filter(|v| available(v)) {
        let entry = if algorithm.has_public_key() {
            json!({
                "creation_time": v.created_at.rfc3339(),
                "name": pair_name(algorithm),
                "public_key": public_key(state, key, v.version).await.unwrap_or_default(),
            })
        } else {
            json!(v.created_at.millis().div_euclid(1000))
        };
        keys.insert(v.version.get().to_string(), entry);
    }
    let latest = key.versions().last().map_or(0, |v| v.version.get());
    let min_available = key
        .versions()
        .iter()
        .find(|v| available(v))
        .filter(|v| v.version.get() > 1)
        .map_or(0, |v| v.version.get());
    let supports = |op| algorithm.supports(op);
    json!({
        "name": key.name.as_str(),
        "type": vault_type(algorithm),
        "keys": keys,
        "latest_version": latest,
        "min_available_version": min_available,
        "min_decryption_version": key.min_decryption_version.get(),
        "min_encryption_version": 0,
        "deletion_allowed": key.settings.deletion_allowed,
        "derived": false,
        "exportable": false,
        "allow_plaintext_backup": false,
        "convergent_encryption": false,
        "imported": false,
        "auto_rotate_period": key.settings.rotation_period_ms.map_or(0, |ms| ms / 1000),
        "supports_encryption": supports(Operation::Encrypt),
        "supports_decryption": supports(Operation::Decrypt),
        "supports_derivation": false,
        "supports_signing": supports(Operation::Sign),
    })
}

/// The key's current snapshot, as the data plane serves it.
pub fn snapshot(state: &AppState, name: &str) -> Result<Arc<KeyEntry>, ApiError> {
    state
        .directory
        .load()
        .key(name)
        .cloned()
        .ok_or_else(|| kms_engine::EngineError::KeyNotFound.into())
}

/// Answers with the key as it is now (create, config, rotate and trim answer this way too).
pub async fn answer(
    state: &AppState,
    name: &str,
    warnings: Vec<String>,
) -> Result<HttpResponse, VaultError> {
    let key = snapshot(state, name)?;
    Ok(envelope::ok(key_data(state, &key).await, warnings))
}

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: Name,
) -> Result<HttpResponse, VaultError> {
    let (_, key) = auth::authorize_key_any(&state, &req, &name, "transit_read_key").await?;
    Ok(envelope::ok(key_data(&state, &key).await, Vec::new()))
}
