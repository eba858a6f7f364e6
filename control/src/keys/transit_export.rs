//! Vault Transit's `export/{type}/{name}[/{version}]` of secret material (`encryption-key`,
//! `signing-key`, `hmac-key`): only for a key that is `exportable`, and only through an approval
//! (docs/access-control.md). The approved run does not export: it leaves an authorisation for the
//! requester alone, and the requester's next identical call takes it (once) and receives the
//! material, unwrapped by the HSM at that moment. So the plaintext is never stored, not even in
//! the approval's private result; it exists only in the answer to the requester.

use std::collections::BTreeMap;

use kms_engine::EngineError;
use kms_engine::crypto::transit_export::{ExportKind, vault_form};
use kms_engine::ids::KeyVersion;
use kms_engine::keyring::KeyEntry;
use kms_engine::secret::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::view::key_by_name;
use crate::approvals::invocation::Invocation;
use crate::context::Control;
use crate::error::ControlError;

/// What an export asks for, as an approval request keeps it: the approval covers exactly this
/// key, this type and this version (`None`: every version that still decrypts; `latest`; or a
/// number).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub name: String,
    pub kind: String,
    pub version: Option<String>,
}

/// Vault's answer for a key that is not exportable.
pub fn not_exportable() -> ControlError {
    ControlError::invalid("not_exportable", "private key material is not exportable")
}

/// Refuses at once what could never run: an unknown type, a key that is not exportable, a type
/// the key has no material of.
pub fn check(key: &KeyEntry, params: &Params) -> Result<(), ControlError> {
    let kind = ExportKind::parse(&params.kind)?;
    if !key.settings.exportable {
        return Err(not_exportable());
    }
    if !kind.applies_to(key.algorithm) {
        return Err(EngineError::InvalidArgument(format!(
            "{} is not supported for a {} key",
            kind.name(),
            key.algorithm.name()
        ))
        .into());
    }
    Ok(())
}

/// What an approver sees: the key, the type, the versions, and that the requester receives the
/// plaintext.
pub fn describe(params: &Params) -> Result<Value, ControlError> {
    Ok(json!({
        "key": params.name,
        "type": params.kind,
        "version": params.version.clone().unwrap_or_else(|| "every version that decrypts".into()),
        "what": "the key's plaintext material, to the requester alone, once, through the Vault Transit API",
    }))
}

/// The versions an export covers.
fn versions(key: &KeyEntry, asked: Option<&str>) -> Result<Vec<KeyVersion>, ControlError> {
    Ok(match asked {
        // Every version that still decrypts, as Vault exports from `min_decryption_version` on.
        None => key
            .versions()
            .iter()
            .map(|v| v.version)
            .filter(|v| key.decrypting_version(*v).is_ok())
            .collect(),
        Some("latest") => vec![key.versions().last().map_or(key.active, |v| v.version)],
        Some(n) => {
            let n = n.parse().map_err(|_| {
                EngineError::InvalidArgument("the version is a number or `latest`".into())
            })?;
            vec![KeyVersion::new(n)?]
        }
    })
}

/// The export itself, for an authorised requester: `{version: material}` in Vault's forms.
pub async fn export(
    ctl: &Control,
    invocation: &Invocation,
    params: &Params,
) -> Result<BTreeMap<u32, SecretString>, ControlError> {
    let key = key_by_name(ctl, &params.name).await?;
    check(&key, params)?;
    let kind = ExportKind::parse(&params.kind)?;
    let mut out = BTreeMap::new();
    for version in versions(&key, params.version.as_deref())? {
        let wrapped = key
            .decrypting_version(version)?
            .wrapped
            .clone()
            .ok_or(EngineError::KeyVersionDestroyed)?;
        let material = ctl.hsm.unwrap(key.wrap_context(version), wrapped).await?;
        out.insert(version.get(), vault_form(key.algorithm, kind, &material)?);
    }
    let listed: Vec<String> = out.keys().map(u32::to_string).collect();
    let event = invocation.event(
        ctl,
        "transit_export_key",
        format!("key:{}", params.name),
        Some(format!(
            "type={} versions={}",
            params.kind,
            listed.join(",")
        )),
    );
    ctl.audit.record(event).await;
    Ok(out)
}
