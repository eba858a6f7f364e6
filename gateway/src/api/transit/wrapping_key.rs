//! `GET {mount}/wrapping_key` → `{"public_key":"-----BEGIN PUBLIC KEY-----..."}`: the RSA-4096 key
//! that BYOK imports wrap their material for (import.rs). It is a key the KMS keeps for itself,
//! under a reserved name no API can create, grant, read or use: generated on first use as a key
//! pair wrapped by the HSM, like every key pair, so that a master-key rotation rewraps it with the
//! rest; its private half is only ever unwrapped to open an import. Administrators only
//! (`transit_wrapping_key`), as imports are.

use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, web};
use kms_engine::algorithm::Algorithm;
use kms_engine::audit::Outcome;
use kms_engine::ids::{KeyName, KeyVersion};
use kms_engine::keyring::{KeyEntry, KeySettings};
use kms_engine::secret::KeyMaterial;
use kms_engine::store::StoreError;
use serde_json::json;

use super::envelope::{self, VaultError};
use crate::auth;
use crate::error::ApiError;
use crate::keyops;
use crate::state::AppState;

/// In the KMS's reserved namespace (system_keys.rs).
const NAME: &str = "kms-system.transit-wrapping";

/// The wrapping key, made on first use (or read from the store when another request or node
/// made it first).
pub async fn entry(state: &AppState) -> Result<Arc<KeyEntry>, ApiError> {
    if let Some(entry) = state.directory.load().key(NAME) {
        return Ok(Arc::clone(entry));
    }
    let name = KeyName::new(NAME)?;
    let id = match state.store.key_id(&name).await? {
        Some(id) => id,
        None => {
            let event = state.event(
                "system".into(),
                "create_system_key",
                Some(format!("key:{name}")),
                Outcome::Success,
            );
            let algorithm = Algorithm::Rsa4096;
            match keyops::create(
                state,
                name.clone(),
                algorithm,
                KeySettings::default(),
                "system",
                &event,
            )
            .await
            {
                Ok(id) => id,
                Err(e) if e.code == "key_exists" => state
                    .store
                    .key_id(&name)
                    .await?
                    .ok_or(StoreError::NotFound("wrapping key"))?,
                Err(e) => return Err(e),
            }
        }
    };
    Ok(Arc::new(
        state
            .store
            .load_key(id)
            .await?
            .ok_or(StoreError::NotFound("wrapping key"))?,
    ))
}

/// The wrapping key's private half (PKCS#8 DER), unwrapped by the HSM to open one import.
pub async fn private_key(state: &AppState) -> Result<KeyMaterial, ApiError> {
    let key = entry(state).await?;
    let wrapped = key
        .version(KeyVersion::FIRST)
        .and_then(|v| v.wrapped.clone())
        .ok_or(StoreError::Corrupt("wrapping key without material".into()))?;
    Ok(state
        .hsm
        .unwrap(key.wrap_context(KeyVersion::FIRST), wrapped)
        .await?)
}

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, VaultError> {
    auth::require_admin(&state, &req, "transit_wrapping_key", None).await?;
    let key = entry(&state).await?;
    let pem = state.pool.public_key(key, KeyVersion::FIRST).await?;
    Ok(envelope::ok(json!({ "public_key": pem }), Vec::new()))
}
