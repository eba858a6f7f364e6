//! Exporting an exportable key's material, wrapped to the requester's RSA public key (see
//! kms_engine::crypto::export; `aad` is `kms-export-v1:{name}:{version}`). It always waits for
//! approval; only keys created `exportable` can be exported.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use kms_engine::EngineError;
use kms_engine::crypto::export;
use kms_engine::ids::KeyVersion;
use serde::{Deserialize, Serialize};

use super::view::key_by_name;
use crate::approvals::invocation::Invocation;
use crate::approvals::ran::{Mode, Ran};
use crate::context::Control;
use crate::error::ControlError;

/// What an export needs, as an approval request keeps it.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub name: String,
    pub public_key: String,
    pub version: Option<u32>,
}

pub fn not_exportable(name: &str) -> ControlError {
    ControlError::invalid(
        "not_exportable",
        format!("key `{name}` was not created exportable"),
    )
}

/// Refuses at once what could never run: a key that is not exportable (from the directory).
pub fn check(ctl: &Control, name: &str) -> Result<(), ControlError> {
    let key = ctl
        .directory
        .load()
        .key(name)
        .cloned()
        .ok_or(EngineError::KeyNotFound)?;
    if !key.settings.exportable {
        return Err(not_exportable(name));
    }
    Ok(())
}

/// Exports (directly, or once approved).
pub async fn apply(
    ctl: &Control,
    invocation: &Invocation,
    params: Params,
    mode: Mode,
) -> Result<Ran, ControlError> {
    let key = key_by_name(ctl, &params.name).await?;
    if !key.settings.exportable {
        return Err(not_exportable(&params.name));
    }
    let version = match params.version {
        Some(v) => KeyVersion::new(v)?,
        None => key.active,
    };
    let wrapped = key
        .version(version)
        .ok_or(EngineError::KeyVersionNotFound)?
        .wrapped
        .clone()
        .ok_or(EngineError::KeyVersionDestroyed)?;
    let material = ctl.hsm.unwrap(key.wrap_context(version), wrapped).await?;
    let aad = format!("kms-export-v1:{}:{version}", params.name);
    let out = export::wrap_for(&params.public_key, aad.as_bytes(), &material)?;
    let event = invocation.event(
        ctl,
        "export_key",
        format!("key:{}", params.name),
        Some(format!("version={version}")),
    );
    ctl.audit.record(event).await;
    let public = serde_json::json!({
        "key": params.name,
        "version": version.get(),
        "algorithm": key.algorithm.name(),
        "aad": aad,
    });
    let material = serde_json::json!({
        "wrapped_key": STANDARD.encode(out.wrapped_key),
        "ciphertext": STANDARD.encode(out.ciphertext),
    });
    // The wrapped material is for the requester alone, once: other people reading the request
    // see what was exported, not the export.
    let _ = mode;
    Ok(Ran {
        public,
        private: Some(material),
        completer: None,
    })
}

/// What an approver sees: the key, the version, and which public key it leaves wrapped to (its
/// SHA-256 fingerprint, to compare with the requester's).
pub fn describe(params: &Params) -> Result<serde_json::Value, ControlError> {
    Ok(serde_json::json!({
        "key": params.name,
        "version": params.version,
        "public_key_sha256": export::public_key_fingerprint(&params.public_key)?,
    }))
}
