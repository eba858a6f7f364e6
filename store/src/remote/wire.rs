//! What the store's internal API sends service nodes (and what a service node keeps in its disk
//! cache): keys with their versions wrapped to the zone's key, credentials as hashes, the change
//! feed, and what service nodes send back (usage counts, audit events). JSON; ids as text, bytes
//! as hex or base64.

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use kms_engine::algorithm::{Algorithm, Operation, OperationSet};
use kms_engine::audit::{AuditEvent, Outcome};
use kms_engine::certificate::CertFingerprint;
use kms_engine::clock::Timestamp;
use kms_engine::directory::{Credential, Principal};
use kms_engine::ids::{AppId, AppName, KeyId, KeyName, KeyVersion, MasterKeyId};
use kms_engine::keyring::{KeyEntry, KeySettings, Purpose, VersionEntry};
use kms_engine::policy::UsagePolicy;
use kms_engine::pool::UsageRecord;
use kms_engine::role::RoleSet;
use kms_engine::store::{CertificateCredential, Change, Revision, StoreError};
use kms_engine::token::TokenHash;
use kms_engine::version::VersionState;
use kms_engine::wrap::WrappedKey;
use serde::{Deserialize, Serialize};

/// A message from the store that does not parse: the store and the node disagree on the format.
fn bad(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("internal API: {what}"))
}

fn bytes<const N: usize>(hex_text: &str, what: &str) -> Result<[u8; N], StoreError> {
    let v = hex::decode(hex_text).map_err(|_| bad(format_args!("{what} is not hex")))?;
    <[u8; N]>::try_from(v.as_slice()).map_err(|_| bad(format_args!("{what} is not {N} bytes")))
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WireVersion {
    pub version: u32,
    pub state: u8,
    /// `zone:<name>` for a transport blob (what the internal API sends), else a master key id.
    pub master_key: Option<String>,
    /// Base64; absent once destroyed.
    pub blob: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub destroy_at: Option<i64>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WireKey {
    pub id: String,
    pub name: String,
    pub algorithm: u16,
    pub deterministic: bool,
    pub rotation_period_ms: Option<i64>,
    pub notice_period_ms: i64,
    pub exportable: bool,
    pub purpose: i64,
    pub deletion_allowed: bool,
    /// Transit's settings (engine keyring.rs); absent from a store that predates them.
    #[serde(default)]
    pub derived: bool,
    #[serde(default)]
    pub convergent: bool,
    #[serde(default)]
    pub imported: bool,
    #[serde(default)]
    pub min_encryption_version: u32,
    #[serde(default)]
    pub allow_plaintext_backup: bool,
    pub created_at: i64,
    pub min_decryption_version: u32,
    pub versions: Vec<WireVersion>,
    /// App id → operation names.
    pub grants: HashMap<String, Vec<String>>,
    /// The usage policy's stored form.
    pub policy: Option<String>,
}

impl WireKey {
    /// `key` with each version's material as `material` gives it (the store sends material
    /// re-wrapped to a zone's key, and none for versions that may no longer be used).
    pub fn from_entry(
        key: &KeyEntry,
        mut material: impl FnMut(&VersionEntry) -> Option<WrappedKey>,
    ) -> Self {
        let versions = key
            .versions()
            .iter()
            .map(|v| {
                let wrapped = material(v);
                WireVersion {
                    version: v.version.get(),
                    state: v.state.code(),
                    master_key: wrapped.as_ref().map(|w| w.master_key.to_string()),
                    blob: wrapped.as_ref().map(|w| STANDARD.encode(&w.blob)),
                    created_at: v.created_at.millis(),
                    updated_at: v.updated_at.millis(),
                    destroy_at: v.destroy_at.map(Timestamp::millis),
                }
            })
            .collect();
        let s = key.settings;
        Self {
            id: key.id.to_string(),
            name: key.name.as_str().to_owned(),
            algorithm: key.algorithm.code(),
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
            created_at: key.created_at.millis(),
            min_decryption_version: key.min_decryption_version.get(),
            versions,
            grants: key
                .grants
                .iter()
                .map(|(app, ops)| {
                    (
                        app.to_string(),
                        ops.iter().map(|o| o.name().into()).collect(),
                    )
                })
                .collect(),
            policy: key.policy.as_ref().map(|p| p.policy.to_stored()),
        }
    }

    pub fn key_id(&self) -> Result<KeyId, StoreError> {
        KeyId::parse(&self.id).map_err(bad)
    }

    pub fn to_entry(&self) -> Result<KeyEntry, StoreError> {
        let versions = self
            .versions
            .iter()
            .map(|v| {
                let wrapped = match (&v.master_key, &v.blob) {
                    (Some(mk), Some(blob)) => Some(WrappedKey {
                        master_key: MasterKeyId::new(mk).map_err(bad)?,
                        blob: STANDARD.decode(blob).map_err(bad)?,
                    }),
                    _ => None,
                };
                Ok(VersionEntry {
                    version: KeyVersion::new(v.version).map_err(bad)?,
                    state: VersionState::from_code(i64::from(v.state)).map_err(bad)?,
                    wrapped,
                    created_at: Timestamp::from_millis(v.created_at),
                    updated_at: Timestamp::from_millis(v.updated_at),
                    destroy_at: v.destroy_at.map(Timestamp::from_millis),
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let grants = self
            .grants
            .iter()
            .map(|(app, ops)| {
                let ops = ops
                    .iter()
                    .map(|o| Operation::parse(o).map_err(bad))
                    .collect::<Result<OperationSet, _>>()?;
                Ok((AppId::parse(app).map_err(bad)?, ops))
            })
            .collect::<Result<HashMap<_, _>, StoreError>>()?;
        let settings = KeySettings {
            deterministic: self.deterministic,
            rotation_period_ms: self.rotation_period_ms,
            notice_period_ms: self.notice_period_ms,
            exportable: self.exportable,
            purpose: Purpose::from_code(self.purpose).map_err(bad)?,
            deletion_allowed: self.deletion_allowed,
            derived: self.derived,
            convergent: self.convergent,
            imported: self.imported,
            min_encryption_version: self.min_encryption_version,
            allow_plaintext_backup: self.allow_plaintext_backup,
        };
        let policy = self
            .policy
            .as_deref()
            .map(UsagePolicy::from_stored)
            .transpose()
            .map_err(bad)?;
        Ok(KeyEntry::new(
            self.key_id()?,
            KeyName::new(&self.name).map_err(bad)?,
            Algorithm::from_code(i64::from(self.algorithm)).map_err(bad)?,
            settings,
            Timestamp::from_millis(self.created_at),
            KeyVersion::new(self.min_decryption_version).map_err(bad)?,
            versions,
            grants,
        )
        .map_err(bad)?
        .with_policy(policy))
    }
}

/// Who a credential or certificate belongs to.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WirePrincipal {
    Root {
        label: String,
    },
    App {
        id: String,
        name: String,
    },
    User {
        name: String,
        roles: String,
        expires_at: i64,
    },
}

impl WirePrincipal {
    fn of(p: &Principal) -> Self {
        match p {
            Principal::Root { label } => Self::Root {
                label: label.clone(),
            },
            Principal::App { id, name } => Self::App {
                id: id.to_string(),
                name: name.as_str().to_owned(),
            },
            Principal::User {
                name,
                roles,
                expires_at,
            } => Self::User {
                name: name.clone(),
                roles: roles.to_csv(),
                expires_at: expires_at.millis(),
            },
        }
    }

    fn to_principal(&self) -> Result<Principal, StoreError> {
        Ok(match self {
            Self::Root { label } => Principal::Root {
                label: label.clone(),
            },
            Self::App { id, name } => Principal::App {
                id: AppId::parse(id).map_err(bad)?,
                name: AppName::new(name).map_err(bad)?,
            },
            Self::User {
                name,
                roles,
                expires_at,
            } => Principal::User {
                name: name.clone(),
                roles: RoleSet::parse_csv(roles).map_err(bad)?,
                expires_at: Timestamp::from_millis(*expires_at),
            },
        })
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WireCredential {
    /// Hex SHA-256 of the token: the token itself never leaves the caller.
    pub hash: String,
    pub principal: WirePrincipal,
    pub expires_at: Option<i64>,
}

impl WireCredential {
    pub fn of(c: &Credential) -> Self {
        Self {
            hash: hex::encode(c.hash.as_bytes()),
            principal: WirePrincipal::of(&c.principal),
            expires_at: c.expires_at.map(Timestamp::millis),
        }
    }

    pub fn to_credential(&self) -> Result<Credential, StoreError> {
        Ok(Credential {
            hash: TokenHash::from_bytes(bytes(&self.hash, "token hash")?),
            principal: self.principal.to_principal()?,
            expires_at: self.expires_at.map(Timestamp::from_millis),
        })
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WireCertificate {
    pub fingerprint: String,
    pub principal: WirePrincipal,
}

impl WireCertificate {
    pub fn of(c: &CertificateCredential) -> Self {
        Self {
            fingerprint: hex::encode(c.fingerprint.as_bytes()),
            principal: WirePrincipal::of(&c.principal),
        }
    }

    pub fn to_certificate(&self) -> Result<CertificateCredential, StoreError> {
        Ok(CertificateCredential {
            fingerprint: CertFingerprint::from_bytes(bytes(&self.fingerprint, "fingerprint")?),
            principal: self.principal.to_principal()?,
        })
    }
}

/// One entry of the change feed.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WireChange {
    pub revision: Revision,
    /// The key that changed; absent: the credentials changed.
    pub key: Option<String>,
}

impl WireChange {
    pub fn of(&(revision, change): &(Revision, Change)) -> Self {
        Self {
            revision,
            key: match change {
                Change::Key(id) => Some(id.to_string()),
                Change::Credentials => None,
            },
        }
    }

    pub fn to_change(&self) -> Result<(Revision, Change), StoreError> {
        let change = match &self.key {
            Some(id) => Change::Key(KeyId::parse(id).map_err(bad)?),
            None => Change::Credentials,
        };
        Ok((self.revision, change))
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WireUsage {
    pub key: String,
    pub version: u32,
    pub principal: String,
    pub operation: String,
    pub count: u64,
    pub last_used: i64,
}

impl WireUsage {
    pub fn of(u: &UsageRecord) -> Self {
        Self {
            key: u.key.to_string(),
            version: u.version.get(),
            principal: u.principal.to_string(),
            operation: u.operation.name().into(),
            count: u.count,
            last_used: u.last_used.millis(),
        }
    }

    pub fn to_record(&self) -> Result<UsageRecord, StoreError> {
        Ok(UsageRecord {
            key: KeyId::parse(&self.key).map_err(bad)?,
            version: KeyVersion::new(self.version).map_err(bad)?,
            principal: Arc::from(self.principal.as_str()),
            operation: Operation::parse(&self.operation).map_err(bad)?,
            count: self.count,
            last_used: Timestamp::from_millis(self.last_used),
        })
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WireAuditEvent {
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    pub outcome: u8,
    pub code: Option<String>,
    pub remote: Option<String>,
    pub detail: Option<String>,
}

impl WireAuditEvent {
    pub fn of(e: &AuditEvent) -> Self {
        Self {
            at: e.at.millis(),
            actor: e.actor.clone(),
            action: e.action.clone(),
            target: e.target.clone(),
            outcome: e.outcome.code(),
            code: e.code.clone(),
            remote: e.remote.clone(),
            detail: e.detail.clone(),
        }
    }

    pub fn to_event(&self) -> Result<AuditEvent, StoreError> {
        Ok(AuditEvent {
            at: Timestamp::from_millis(self.at),
            actor: self.actor.clone(),
            action: self.action.clone(),
            target: self.target.clone(),
            outcome: Outcome::from_code(i64::from(self.outcome))
                .ok_or_else(|| bad("unknown audit outcome"))?,
            code: self.code.clone(),
            remote: self.remote.clone(),
            detail: self.detail.clone(),
        })
    }
}
