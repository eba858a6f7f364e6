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

/// Versions Vault would still have: not destroyed, nor waiting to be (Vault's trim removes them).
fn available(v: &VersionEntry) -> bool {
    !matches!(
        v.state,
        VersionState::ScheduledForDestruction | VersionState::Destroyed
    )
}

/// Versions Vault lists in `keys`: the available ones from `min_decryption_version` on (Vault
/// archives the older ones and lists only the live).
fn listed(key: &KeyEntry, v: &VersionEntry) -> bool {
    available(v) && v.version >= key.min_decryption_version
}

/// Vault's `name` of a key pair's curve or size.
fn pair_name(algorithm: Algorithm) -> &'static str {
    match algorithm {
        Algorithm::EcdsaP256 => "P-256",
        Algorithm::EcdsaP384 => "P-384",
        Algorithm::EcdsaP521 => "P-521",
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
    let settings = key.settings;
    let supports = |op| algorithm.supports(op);
    let mut data = json!({
        "name": key.name.as_str(),
        "type": vault_type(algorithm),
        "latest_version": key.versions().last().map_or(0, |v| v.version.get()),
        "min_available_version": key
            .versions()
            .iter()
            .find(|v| available(v))
            .filter(|v| v.version.get() > 1)
            .map_or(0, |v| v.version.get()),
        "min_decryption_version": key.min_decryption_version.get(),
        "min_encryption_version": settings.min_encryption_version,
        "deletion_allowed": settings.deletion_allowed,
        "derived": settings.derived,
        "exportable": settings.exportable,
        "allow_plaintext_backup": settings.allow_plaintext_backup,
        "imported_key": settings.imported,
        // Deleted keys are gone at once here (OpenBao's soft deletion is not built).
        "soft_deleted": false,
        "auto_rotate_period": settings.rotation_period_ms.map_or(0, |ms| ms / 1000),
        "supports_encryption": supports(Operation::Encrypt),
        "supports_decryption": supports(Operation::Decrypt),
        // Vault's rule: the types whose keys can be derived (whether this key is or not).
        "supports_derivation": matches!(
            algorithm,
            Algorithm::Aes256Gcm | Algorithm::Aes128Gcm | Algorithm::ChaCha20Poly1305 | Algorithm::Ed25519
        ),
        "supports_signing": supports(Operation::Sign),
    });
    if settings.derived {
        data["kdf"] = "hkdf_sha256".into();
        data["convergent_encryption"] = settings.convergent.into();
        if settings.convergent {
            // What OpenBao 2.7.2 reports for its convergent keys.
            data["convergent_encryption_version"] = (-1).into();
        }
    }
    if settings.imported {
        data["imported_key_allow_rotation"] = false.into();
    }
    if algorithm.family() == Family::Mac {
        // Vault shows an HMAC key's size, not its versions.
        data["key_size"] = 32.into();
        return data;
    }
    let mut keys = Map::new();
    for v in key.versions().iter().filter(|v| listed(key, v)) {
        let entry = if algorithm.has_public_key() {
            json!({
                "certificate_chain": "",
                "creation_time": v.created_at.rfc3339(),
                "name": pair_name(algorithm),
                "public_key": public_key(state, key, v.version).await.unwrap_or_default(),
            })
        } else {
            json!(v.created_at.millis().div_euclid(1000))
        };
        keys.insert(v.version.get().to_string(), entry);
    }
    data["keys"] = keys.into();
    data
}

/// The key's current snapshot, as the data plane serves it.
pub fn snapshot(state: &AppState, name: &str) -> Result<Arc<KeyEntry>, ApiError> {
    state
        .directory
        .load()
        .key(name)
        .cloned()
        .ok_or_else(|| crate::error::key_not_found(name))
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
    let (_, key) = match auth::authorize_key_any(&state, &req, &name, "transit_read_key").await {
        Ok(found) => found,
        // Vault's read of a missing key: 404 with no error line.
        Err(e) if e.code == "key_not_found" => return Ok(envelope::not_found().await),
        Err(e) => return Err(e.into()),
    };
    Ok(envelope::ok(key_data(&state, &key).await, Vec::new()))
}
