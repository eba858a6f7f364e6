//! Keys the KMS keeps for itself: the key that seals users' TOTP secrets and the key that seals
//! the audit chain's head. They are ordinary keys in the store (so a master-key rotation rewraps
//! them with the rest), generated inside the HSM and kept only wrapped under its master key, under
//! names in a reserved namespace that no API can create, read, grant or use.

use std::sync::Arc;

use kms_engine::algorithm::Algorithm;
use kms_engine::audit::Outcome;
use kms_engine::crypto::aead::AeadKey;
use kms_engine::crypto::mac::MacKey;
use kms_engine::ids::{KeyName, KeyVersion};
use kms_engine::keyring::{KeyEntry, KeySettings};
use kms_engine::secret::{KeyMaterial, PlaintextBuf};
use kms_engine::store::StoreError;

use crate::context::Control;
use crate::error::ControlError;
use crate::keyops;

/// Key names starting with this belong to the KMS.
pub const PREFIX: &str = "kms-system.";

pub fn is_reserved(name: &str) -> bool {
    name.starts_with(PREFIX)
}

/// 400 for a name in the reserved namespace.
pub fn refuse_reserved(name: &str) -> Result<(), ControlError> {
    if is_reserved(name) {
        return Err(ControlError::invalid(
            "reserved_name",
            format!("key names starting with `{PREFIX}` are reserved for the KMS"),
        ));
    }
    Ok(())
}

#[derive(Clone, Copy, Debug)]
pub enum SystemKey {
    /// AES-256-GCM over users' TOTP secrets.
    Totp,
    /// HMAC-SHA256 over the audit chain's head.
    AuditSeal,
    /// RSA-4096 that Vault Transit's BYOK imports wrap their material for (its public half is
    /// `GET {mount}/wrapping_key`); its private half is only ever unwrapped to open an import.
    TransitWrapping,
    /// HMAC-SHA256 over Vault Transit backups (control/src/keys/transit_backup.rs), so that a
    /// backup edited outside the KMS is refused at restore.
    TransitBackup,
}

impl SystemKey {
    fn name(self) -> &'static str {
        match self {
            SystemKey::Totp => "kms-system.totp",
            SystemKey::AuditSeal => "kms-system.audit-seal",
            SystemKey::TransitWrapping => "kms-system.transit-wrapping",
            SystemKey::TransitBackup => "kms-system.transit-backup",
        }
    }

    fn algorithm(self) -> Algorithm {
        match self {
            SystemKey::Totp => Algorithm::Aes256Gcm,
            SystemKey::AuditSeal => Algorithm::HmacSha256,
            SystemKey::TransitWrapping => Algorithm::Rsa4096,
            SystemKey::TransitBackup => Algorithm::HmacSha256,
        }
    }
}

/// The key (made on first use), read from the directory snapshot like every key the data plane
/// uses; from the store only on first use.
pub async fn entry(ctl: &Control, which: SystemKey) -> Result<Arc<KeyEntry>, ControlError> {
    let known = ctl.directory.load().key(which.name()).cloned();
    Ok(match known {
        Some(entry) => entry,
        None => Arc::new(created(ctl, which).await?),
    })
}

/// The key's material, unwrapped by the HSM (the key is made on first use).
pub async fn material(ctl: &Control, which: SystemKey) -> Result<KeyMaterial, ControlError> {
    let entry = entry(ctl, which).await?;
    let wrapped = entry
        .version(KeyVersion::FIRST)
        .and_then(|v| v.wrapped.clone())
        .ok_or(StoreError::Corrupt("system key without material".into()))?;
    Ok(ctl
        .hsm
        .unwrap(entry.wrap_context(KeyVersion::FIRST), wrapped)
        .await?)
}

/// Makes the key (or, when another request or node made it first, reads it from the store).
async fn created(ctl: &Control, which: SystemKey) -> Result<KeyEntry, ControlError> {
    let name = KeyName::new(which.name())?;
    let id = match ctl.store.key_id(&name).await? {
        Some(id) => id,
        None => {
            let event = ctl.event(
                "system".into(),
                "create_system_key",
                Some(format!("key:{name}")),
                Outcome::Success,
            );
            let made = keyops::create(
                ctl,
                name.clone(),
                which.algorithm(),
                KeySettings::default(),
                "system",
                &event,
            )
            .await;
            match made {
                Ok(id) => id,
                // Made concurrently by another request or node.
                Err(ControlError::Store(StoreError::AlreadyExists("key"))) => ctl
                    .store
                    .key_id(&name)
                    .await?
                    .ok_or(StoreError::NotFound("system key"))?,
                Err(e) => return Err(e),
            }
        }
    };
    Ok(ctl
        .store
        .load_key(id)
        .await?
        .ok_or(StoreError::NotFound("system key"))?)
}

fn totp_aad(user: &str) -> Vec<u8> {
    [b"kms-totp-v1\0".as_slice(), user.as_bytes()].concat()
}

/// Seals a user's TOTP secret, bound to their name.
pub async fn seal_totp(ctl: &Control, user: &str, secret: &[u8]) -> Result<Vec<u8>, ControlError> {
    let key = AeadKey::new(
        Algorithm::Aes256Gcm,
        false,
        &material(ctl, SystemKey::Totp).await?,
    )?;
    Ok(key.seal(&totp_aad(user), secret)?)
}

pub async fn open_totp(
    ctl: &Control,
    user: &str,
    sealed: &[u8],
) -> Result<PlaintextBuf, ControlError> {
    let key = AeadKey::new(
        Algorithm::Aes256Gcm,
        false,
        &material(ctl, SystemKey::Totp).await?,
    )?;
    Ok(key.open(&totp_aad(user), sealed.to_vec())?)
}

/// The audit seal key, for sealing and verifying chain heads.
pub async fn audit_seal_key(ctl: &Control) -> Result<MacKey, ControlError> {
    Ok(MacKey::new(
        Algorithm::HmacSha256,
        &material(ctl, SystemKey::AuditSeal).await?,
    )?)
}
