//! Key operations shared by the admin handlers and the scheduler.

use kms_engine::EngineError;
use kms_engine::algorithm::{Algorithm, MaterialKind};
use kms_engine::audit::{AuditEvent, Outcome};
use kms_engine::ids::{KeyId, KeyName, KeyVersion};
use kms_engine::keyring::KeySettings;
use kms_engine::secret::KeyMaterial;
use kms_engine::store::{EventRecord, NewKey, Revision, Rotation, StoreError};
use kms_engine::wrap::{WrapContext, WrappedKey};

use crate::context::Control;
use crate::error::ControlError;
use crate::master_keys;

/// Material for a new version, wrapped under the active master key: random bytes generated inside
/// the HSM, or a key pair generated here (off the async workers) and wrapped by the HSM.
pub async fn new_material(ctl: &Control, context: WrapContext) -> Result<WrappedKey, ControlError> {
    let under = master_keys::active(ctl.store.as_ref()).await?.id;
    match context.algorithm.material() {
        MaterialKind::Random(_) => Ok(ctl.hsm.generate_wrapped(context, under).await?),
        MaterialKind::KeyPair => {
            let algorithm = context.algorithm;
            let material = tokio::task::spawn_blocking(move || {
                kms_engine::crypto::generate_key_pair(algorithm)
            })
            .await
            .map_err(ControlError::internal)??;
            Ok(ctl.hsm.wrap(context, material, under).await?)
        }
    }
}

/// Creates a key with its first version, and waits until the data plane serves it.
pub async fn create(
    ctl: &Control,
    name: KeyName,
    algorithm: Algorithm,
    settings: KeySettings,
    actor: &str,
    audit: &AuditEvent,
) -> Result<KeyId, ControlError> {
    store_new(ctl, name, algorithm, settings, None, actor, audit).await
}

/// Creates a key whose first version is `material` brought in from outside (Vault Transit's
/// BYOK import), wrapped under the active master key by the HSM like generated material.
pub async fn import(
    ctl: &Control,
    name: KeyName,
    algorithm: Algorithm,
    settings: KeySettings,
    material: KeyMaterial,
    actor: &str,
    audit: &AuditEvent,
) -> Result<KeyId, ControlError> {
    store_new(ctl, name, algorithm, settings, Some(material), actor, audit).await
}

/// A new key's first version: `material` when given, else fresh.
async fn store_new(
    ctl: &Control,
    name: KeyName,
    algorithm: Algorithm,
    settings: KeySettings,
    material: Option<KeyMaterial>,
    actor: &str,
    audit: &AuditEvent,
) -> Result<KeyId, ControlError> {
    let id = KeyId::random();
    let context = WrapContext {
        key: id,
        version: KeyVersion::FIRST,
        algorithm,
    };
    let mut attempt = 0;
    let revision = loop {
        attempt += 1;
        let key = NewKey {
            id,
            name: name.clone(),
            algorithm,
            settings,
            wrapped: match &material {
                Some(material) => {
                    let under = master_keys::active(ctl.store.as_ref()).await?.id;
                    let copy = KeyMaterial::from_slice(material.expose());
                    ctl.hsm.wrap(context, copy, under).await?
                }
                None => new_material(ctl, context).await?,
            },
            at: ctl.clock.now(),
            actor: actor.to_owned(),
        };
        // A master-key rotation between reading the active key and committing: wrap again.
        match ctl.store.create_key(&key, audit).await {
            Err(StoreError::Conflict(_)) if attempt < ATTEMPTS => continue,
            other => break other?,
        }
    };
    ctl.synced(revision).await;
    Ok(id)
}

/// Attempts before a rotation that keeps losing to concurrent ones (key rotations, or a
/// master-key rotation) gives up with 409.
const ATTEMPTS: usize = 3;

/// Rotates `key`: a new version, active; the old active one decrypt-only. Records a
/// `key_rotated` event for administrators and webhooks. Returns the revision and the version.
pub async fn rotate(
    ctl: &Control,
    key: KeyId,
    actor: &str,
    reason: &str,
    audit: &AuditEvent,
) -> Result<(Revision, KeyVersion), ControlError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let entry = ctl
            .store
            .load_key(key)
            .await?
            .ok_or(EngineError::KeyNotFound)?;
        let latest = entry
            .versions()
            .last()
            .map(|v| v.version)
            .ok_or(EngineError::CorruptRecord("a key without versions"))?;
        let version = latest.next()?;
        let rotation = Rotation {
            key,
            new_version: version,
            wrapped: new_material(ctl, entry.wrap_context(version)).await?,
            at: ctl.clock.now(),
            actor: actor.to_owned(),
            reason: reason.to_owned(),
        };
        let mut audit = audit.clone();
        audit.detail = Some(format!("version={version} reason={reason}"));
        match ctl.store.rotate_key(&rotation, &audit).await {
            Ok(revision) => {
                event(
                    ctl,
                    "key_rotated",
                    key,
                    entry.name.as_str(),
                    Some(version),
                    serde_json::json!({ "actor": actor, "reason": reason, "previous_version": entry.active.get() }),
                )
                .await;
                return Ok((revision, version));
            }
            Err(StoreError::Conflict(_)) if attempt < ATTEMPTS => {}
            Err(e) => return Err(e.into()),
        }
    }
}

/// Records a lifecycle event (and its webhook deliveries). A failure to record is logged, not
/// returned: the change it describes has been committed.
pub async fn event(
    ctl: &Control,
    kind: &str,
    key: KeyId,
    key_name: &str,
    version: Option<KeyVersion>,
    detail: serde_json::Value,
) {
    let record = EventRecord {
        id: 0,
        at: ctl.clock.now(),
        kind: kind.to_owned(),
        key: Some(key),
        key_name: Some(key_name.to_owned()),
        version,
        detail: detail.to_string(),
    };
    if let Err(e) = ctl.store.append_event(&record, &ctl.webhook_urls()).await {
        tracing::error!(kind, key = %key, error = %e, "lifecycle event not recorded");
    }
}

/// An audit record for something the system does on its own (the scheduler).
pub fn system_event(ctl: &Control, action: &str, target: String, detail: String) -> AuditEvent {
    let mut e = ctl.event(
        "system:scheduler".into(),
        action,
        Some(target),
        Outcome::Success,
    );
    e.detail = Some(detail);
    e
}
