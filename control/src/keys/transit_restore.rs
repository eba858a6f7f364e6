//! Vault Transit's `restore[/{name}]`: a backup of this KMS (transit_backup.rs) brought back, under
//! its own key id and versions, so ciphertexts made before the backup decrypt again (the key id is
//! bound into every ciphertext). The backup's tag must verify; each version's material is unwrapped
//! by the HSM (which checks that it belongs to that key id, version and algorithm) and rewrapped
//! under the active master key. A key that exists is not overwritten unless `force` (Vault's rule),
//! and then only the same key (same id): a name held by another key is refused
//! (`400 key_exists`), and so is a backup older than the live key (`400 backup_outdated`: its
//! newer versions would be lost). Approval-gated, as a backup.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use kms_engine::algorithm::Algorithm;
use kms_engine::clock::Timestamp;
use kms_engine::ids::{KeyId, KeyName, KeyVersion, MasterKeyId};
use kms_engine::store::{KeyRestore, RestoredVersion, StoreError};
use kms_engine::version::VersionState;
use kms_engine::wrap::{WrapContext, WrappedKey};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::transit_backup::{Body, invalid_backup, open};
use crate::approvals::invocation::Invocation;
use crate::context::Control;
use crate::error::ControlError;
use crate::master_keys;

/// A restore request, as an approval request keeps it (the backup itself: approvers see what
/// would come back).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// `restore/{name}`: the name to restore under (else the backup's).
    pub name: Option<String>,
    pub backup: String,
    pub force: bool,
}

const REASON: &str = "restored through the Transit API";

fn key_exists(name: &str) -> ControlError {
    ControlError::invalid(
        "key_exists",
        format!("key `{name}` already exists (restore with `force` to overwrite the same key)"),
    )
}

/// The name the key comes back under.
fn target_name(params: &Params, body: &Body) -> String {
    params.name.clone().unwrap_or_else(|| body.name.clone())
}

/// The audit target of a restore: the name in the path, else `backup`.
pub fn target(name: Option<&str>) -> String {
    format!("key:{}", name.unwrap_or("backup"))
}

/// Refuses at once what could never run: a backup whose tag does not verify, a name held by
/// another key, an existing key without `force`.
pub async fn check(ctl: &Control, params: &Params) -> Result<(), ControlError> {
    let body = open(ctl, &params.backup).await?;
    let name = target_name(params, &body);
    KeyName::new(&name)?;
    crate::system_keys::refuse_reserved(&name)?;
    let directory = ctl.directory.load();
    if let Some(existing) = directory.key(&name)
        && (existing.id.to_string() != body.id || !params.force)
    {
        return Err(key_exists(&name));
    }
    if let Some(existing) = directory.key(&name) {
        let newest = body.versions.iter().map(|v| v.version).max().unwrap_or(0);
        if existing.versions().iter().any(|v| v.version.get() > newest) {
            return Err(outdated(&name));
        }
    }
    Ok(())
}

fn outdated(name: &str) -> ControlError {
    ControlError::invalid(
        "backup_outdated",
        format!("key `{name}` has versions newer than the backup: a restore would lose them"),
    )
}

/// What an approver sees: the key that comes back, its versions, and whether it overwrites one.
pub async fn describe(ctl: &Control, params: &Params) -> Result<Value, ControlError> {
    let body = open(ctl, &params.backup).await?;
    let name = target_name(params, &body);
    let overwrites = ctl.directory.load().key(&name).is_some();
    Ok(json!({
        "key": name,
        "key_id": body.id,
        "algorithm": Algorithm::from_code(i64::from(body.algorithm))?.name(),
        "versions": body.versions.iter().map(|v| v.version).collect::<Vec<_>>(),
        "backup_sha256": hex::encode(Sha256::digest(params.backup.as_bytes())),
        "overwrites": overwrites,
        "force": params.force,
    }))
}

/// Restores, for an authorised requester.
pub async fn restore(
    ctl: &Control,
    invocation: &Invocation,
    params: &Params,
) -> Result<(), ControlError> {
    check(ctl, params).await?;
    let body = open(ctl, &params.backup).await?;
    let name = target_name(params, &body);
    let id = KeyId::parse(&body.id).map_err(|_| invalid_backup("malformed key id"))?;
    let algorithm = Algorithm::from_code(i64::from(body.algorithm))
        .map_err(|_| invalid_backup("unknown algorithm"))?;
    let active = master_keys::active(ctl.store.as_ref()).await?.id;
    let mut versions = Vec::with_capacity(body.versions.len());
    for v in &body.versions {
        let version = KeyVersion::new(v.version).map_err(|_| invalid_backup("version 0"))?;
        let state =
            VersionState::from_code(i64::from(v.state)).map_err(|_| invalid_backup("state"))?;
        let wrapped = match (&v.master_key, &v.wrapped) {
            (Some(mk), Some(blob)) => {
                let wrapped = WrappedKey {
                    master_key: MasterKeyId::new(mk).map_err(|_| invalid_backup("master key"))?,
                    blob: STANDARD
                        .decode(blob)
                        .map_err(|_| invalid_backup("material not base64"))?,
                };
                let context = WrapContext {
                    key: id,
                    version,
                    algorithm,
                };
                // The HSM unwraps (authenticating the blob against this key id, version and
                // algorithm) and wraps it again under the active master key.
                Some(ctl.hsm.rewrap(context, wrapped, active.clone()).await?)
            }
            (None, None) => None,
            _ => return Err(invalid_backup("material without its master key")),
        };
        versions.push(RestoredVersion {
            version,
            state,
            wrapped,
            created_at: Timestamp::from_millis(v.created_at),
            updated_at: Timestamp::from_millis(v.updated_at),
            destroy_at: v.destroy_at.map(Timestamp::from_millis),
        });
    }
    let restore = KeyRestore {
        id,
        name: KeyName::new(&name)?,
        algorithm,
        settings: body.settings.to_settings()?,
        created_at: Timestamp::from_millis(body.created_at),
        min_decryption_version: KeyVersion::new(body.min_decryption_version)
            .map_err(|_| invalid_backup("min_decryption_version"))?,
        versions,
        force: params.force,
        at: ctl.clock.now(),
        actor: invocation.actor.clone(),
        reason: REASON.into(),
    };
    let event = invocation.event(
        ctl,
        "transit_restore_key",
        format!("key:{name}"),
        Some(format!("key_id={id} force={}", params.force)),
    );
    let revision = ctl
        .store
        .restore_key(&restore, &event)
        .await
        .map_err(|e| match e {
            StoreError::AlreadyExists(_) => key_exists(&name),
            StoreError::Conflict(_) => outdated(&name),
            other => other.into(),
        })?;
    ctl.synced(revision).await;
    Ok(())
}
