//! Vault Transit's `backup/{name}`: one key, every version, in a form only this KMS can restore.
//!
//! The backup is JSON (`kms-transit-backup-v1`, below), base64 in Vault's `backup` field. Each
//! version's material is in it exactly as the store holds it: wrapped under the HSM's master key
//! and bound to the key's id, the version and the algorithm (engine wrap.rs), so a backup never
//! holds plaintext material, and a blob moved to another key or version does not unwrap. The rest
//! (name, settings, version states) is covered by an HMAC-SHA256 tag under a key the KMS keeps for
//! itself (`kms-system.transit-backup`, wrapped by the HSM like every key): a backup edited
//! outside the KMS is refused at restore (`400 invalid_backup`). Restoring needs the HSM's master
//! key that wrapped the material (before a master-key rotation destroys it).
//!
//! Only for a key whose `allow_plaintext_backup` is set (Vault's rule), and only through an
//! approval, as an export: the approved run authorises one backup for the requester.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use kms_engine::crypto::mac::MacKey;
use kms_engine::ids::KeyId;
use kms_engine::keyring::{KeyEntry, KeySettings, Purpose};
use serde::{Deserialize, Serialize};

use super::view::key_by_name;
use crate::approvals::invocation::Invocation;
use crate::context::Control;
use crate::error::ControlError;
use crate::system_keys::{self, SystemKey};

pub const FORMAT: &str = "kms-transit-backup-v1";

/// A backup request, as an approval request keeps it.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub name: String,
}

/// What the tag covers.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Body {
    pub format: String,
    pub id: String,
    pub name: String,
    /// The algorithm's stored code (engine algorithm.rs).
    pub algorithm: u16,
    pub created_at: i64,
    pub min_decryption_version: u32,
    pub settings: Settings,
    pub versions: Vec<Version>,
}

/// A key's settings (engine keyring.rs `KeySettings`).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub deterministic: bool,
    pub rotation_period_ms: Option<i64>,
    pub notice_period_ms: i64,
    pub exportable: bool,
    pub purpose: i64,
    pub deletion_allowed: bool,
    pub derived: bool,
    pub convergent: bool,
    pub imported: bool,
    pub min_encryption_version: u32,
    pub allow_plaintext_backup: bool,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Version {
    pub version: u32,
    /// The state's stored code (engine version.rs).
    pub state: u8,
    /// The master key the material is wrapped under, and the wrapped material (base64); both
    /// absent for a destroyed version.
    pub master_key: Option<String>,
    pub wrapped: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub destroy_at: Option<i64>,
}

/// The backup: the body and its tag (hex). (`flatten` cannot deny unknown fields; the body
/// does, and an unknown field is outside the tag anyway.)
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Backup {
    #[serde(flatten)]
    pub body: Body,
    pub tag: String,
}

impl Settings {
    pub fn of(s: &KeySettings) -> Self {
        Self {
            deterministic: s.deterministic,
            rotation_period_ms: s.rotation_period_ms,
            notice_period_ms: s.notice_period_ms,
            exportable: s.exportable,
            purpose: s.purpose.code(),
            deletion_allowed: s.deletion_allowed,
            derived: s.derived,
            convergent: s.convergent,
            imported: s.imported,
            min_encryption_version: s.min_encryption_version,
            allow_plaintext_backup: s.allow_plaintext_backup,
        }
    }

    pub fn to_settings(&self) -> Result<KeySettings, ControlError> {
        Ok(KeySettings {
            deterministic: self.deterministic,
            rotation_period_ms: self.rotation_period_ms,
            notice_period_ms: self.notice_period_ms,
            exportable: self.exportable,
            purpose: Purpose::from_code(self.purpose)?,
            deletion_allowed: self.deletion_allowed,
            derived: self.derived,
            convergent: self.convergent,
            imported: self.imported,
            min_encryption_version: self.min_encryption_version,
            allow_plaintext_backup: self.allow_plaintext_backup,
        })
    }
}

pub fn invalid_backup(why: &str) -> ControlError {
    ControlError::invalid("invalid_backup", format!("invalid backup: {why}"))
}

pub fn not_allowed() -> ControlError {
    ControlError::invalid(
        "plaintext_backup_not_allowed",
        "plaintext backup is disallowed on the policy (set allow_plaintext_backup)",
    )
}

/// Refuses at once what could never run.
pub fn check(key: &KeyEntry) -> Result<(), ControlError> {
    if key.settings.allow_plaintext_backup {
        Ok(())
    } else {
        Err(not_allowed())
    }
}

async fn mac_key(ctl: &Control) -> Result<MacKey, ControlError> {
    let material = system_keys::material(ctl, SystemKey::TransitBackup).await?;
    Ok(MacKey::new(
        kms_engine::algorithm::Algorithm::HmacSha256,
        &material,
    )?)
}

fn tag_input(body: &Body) -> Result<Vec<u8>, ControlError> {
    let json = serde_json::to_vec(body).map_err(ControlError::internal)?;
    Ok([FORMAT.as_bytes(), b"\0", &json].concat())
}

/// The key's backup, tagged, as Vault's `backup` field carries it (base64 of the JSON).
pub async fn backup(
    ctl: &Control,
    invocation: &Invocation,
    params: &Params,
) -> Result<String, ControlError> {
    let key = key_by_name(ctl, &params.name).await?;
    check(&key)?;
    let body = Body {
        format: FORMAT.into(),
        id: key.id.to_string(),
        name: key.name.as_str().to_owned(),
        algorithm: key.algorithm.code(),
        created_at: key.created_at.millis(),
        min_decryption_version: key.min_decryption_version.get(),
        settings: Settings::of(&key.settings),
        versions: key
            .versions()
            .iter()
            .map(|v| Version {
                version: v.version.get(),
                state: v.state.code(),
                master_key: v.wrapped.as_ref().map(|w| w.master_key.to_string()),
                wrapped: v.wrapped.as_ref().map(|w| STANDARD.encode(&w.blob)),
                created_at: v.created_at.millis(),
                updated_at: v.updated_at.millis(),
                destroy_at: v.destroy_at.map(|t| t.millis()),
            })
            .collect(),
    };
    let tag = hex::encode(mac_key(ctl).await?.tag(&tag_input(&body)?));
    let json = serde_json::to_vec(&Backup { body, tag }).map_err(ControlError::internal)?;
    let event = invocation.event(
        ctl,
        "transit_backup_key",
        format!("key:{}", params.name),
        Some(format!(
            "key_id={} versions={}",
            key.id,
            key.versions().len()
        )),
    );
    ctl.audit.record(event).await;
    Ok(STANDARD.encode(json))
}

/// A backup read back: its body, once its tag verifies (`400 invalid_backup` otherwise).
pub async fn open(ctl: &Control, backup: &str) -> Result<Body, ControlError> {
    let json = STANDARD
        .decode(backup.trim())
        .map_err(|_| invalid_backup("not base64"))?;
    let parsed: Backup =
        serde_json::from_slice(&json).map_err(|_| invalid_backup("not a backup of this KMS"))?;
    if parsed.body.format != FORMAT {
        return Err(invalid_backup("unknown format"));
    }
    let tag = hex::decode(&parsed.tag).map_err(|_| invalid_backup("malformed tag"))?;
    if !mac_key(ctl).await?.verify(&tag_input(&parsed.body)?, &tag) {
        return Err(invalid_backup(
            "its tag does not verify (edited, or made by another KMS)",
        ));
    }
    KeyId::parse(&parsed.body.id).map_err(|_| invalid_backup("malformed key id"))?;
    Ok(parsed.body)
}
