//! A key as the data plane sees it: an immutable snapshot of its versions, states and grants,
//! rebuilt by the key-sync actor whenever the store commits a change to it.

use std::collections::HashMap;

use crate::algorithm::{Algorithm, Operation, OperationSet};
use crate::clock::Timestamp;
use crate::error::EngineError;
use crate::ids::{AppId, KeyId, KeyName, KeyVersion};
use crate::policy::{KeyPolicy, UsagePolicy};
use crate::version::VersionState;
use crate::wrap::{WrapContext, WrappedKey};

#[derive(Clone, Debug)]
pub struct VersionEntry {
    pub version: KeyVersion,
    pub state: VersionState,
    /// `None` once destroyed.
    pub wrapped: Option<WrappedKey>,
    pub created_at: Timestamp,
    /// When the version last changed state (for the active version: since when it is active).
    pub updated_at: Timestamp,
    /// Scheduled for destruction: when.
    pub destroy_at: Option<Timestamp>,
}

/// A key's settings, chosen at creation or changed by an administrator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeySettings {
    /// AES-256-GCM-SIV only: same plaintext and context give the same ciphertext.
    pub deterministic: bool,
    /// Scheduled rotation: the active version is replaced this long after it was made.
    pub rotation_period_ms: Option<i64>,
    /// How long before a scheduled rotation its notice goes out.
    pub notice_period_ms: i64,
    /// Created exportable: its material may leave the KMS (wrapped to a requester's public key)
    /// after a quorum approves. Fixed at creation.
    pub exportable: bool,
    /// What the key is for; fixed at creation.
    pub purpose: Purpose,
    /// Vault's `deletion_allowed`: an administrator may delete the key (its versions destroyed,
    /// its name freed). Off unless configured.
    pub deletion_allowed: bool,
    /// Vault Transit's `derived`: every encryption uses a key derived from the version's material
    /// and the caller's derivation context (HKDF-SHA256), so the context is needed to decrypt.
    /// AEAD keys only; fixed at creation.
    pub derived: bool,
    /// Vault Transit's `convergent_encryption` (needs `derived`): the nonce comes from the
    /// derived key and the plaintext, so one plaintext in one context encrypts to one ciphertext.
    pub convergent: bool,
    /// The first version's material was imported (Transit BYOK), not generated in the HSM; such
    /// a key is never rotated (there would be no material for a new version).
    pub imported: bool,
    /// Vault Transit's `min_encryption_version`: a caller may not ask to encrypt, sign or MAC
    /// with an older version. 0: no minimum.
    pub min_encryption_version: u32,
    /// Vault Transit's `allow_plaintext_backup`: the key may be backed up through Transit's
    /// `backup` (still approval-gated, and the backup holds its material wrapped under the master
    /// key, never in plaintext). May only be turned on, as in Vault.
    pub allow_plaintext_backup: bool,
}

/// What a key is for. A password key is an RSA key whose private half only ever decrypts
/// browser-encrypted passwords inside a crypto worker (docs/passwords.md); the generic data
/// endpoints refuse it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Purpose {
    #[default]
    General,
    Password(Protection),
}

/// How a password key turns a password into the value an application stores.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protection {
    /// AES-256-GCM over salt and password: versioned, rewrappable after a rotation.
    Aead,
    /// HMAC-SHA256 over salt and password: one-way; re-protected on a successful verify.
    Hash,
}

impl Protection {
    pub fn name(self) -> &'static str {
        match self {
            Protection::Aead => "aead",
            Protection::Hash => "hash",
        }
    }

    pub fn parse(name: &str) -> Result<Self, EngineError> {
        match name {
            "aead" => Ok(Protection::Aead),
            "hash" => Ok(Protection::Hash),
            _ => Err(EngineError::InvalidArgument(
                "`protection` is `aead` or `hash`".into(),
            )),
        }
    }
}

impl Purpose {
    /// The code stored in the database (`keys.purpose`). Fixed: never renumber.
    pub fn code(self) -> i64 {
        match self {
            Purpose::General => 0,
            Purpose::Password(Protection::Aead) => 1,
            Purpose::Password(Protection::Hash) => 2,
        }
    }

    pub fn from_code(code: i64) -> Result<Self, EngineError> {
        match code {
            0 => Ok(Purpose::General),
            1 => Ok(Purpose::Password(Protection::Aead)),
            2 => Ok(Purpose::Password(Protection::Hash)),
            _ => Err(EngineError::CorruptRecord("unknown key purpose code")),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Purpose::General => "general",
            Purpose::Password(_) => "password",
        }
    }
}

/// Seven days.
pub const DEFAULT_NOTICE_MS: i64 = 7 * 24 * 3600 * 1000;

impl Default for KeySettings {
    fn default() -> Self {
        Self {
            deterministic: false,
            rotation_period_ms: None,
            notice_period_ms: DEFAULT_NOTICE_MS,
            exportable: false,
            purpose: Purpose::General,
            deletion_allowed: false,
            derived: false,
            convergent: false,
            imported: false,
            min_encryption_version: 0,
            allow_plaintext_backup: false,
        }
    }
}

#[derive(Clone, Debug)]
pub struct KeyEntry {
    pub id: KeyId,
    pub name: KeyName,
    pub algorithm: Algorithm,
    pub settings: KeySettings,
    pub created_at: Timestamp,
    /// The one version in state `Active`.
    pub active: KeyVersion,
    /// Ciphertexts under older versions are refused.
    pub min_decryption_version: KeyVersion,
    /// All versions, 1 to n: `versions[i].version == i + 1`. Versions are never deleted (a
    /// destroyed one keeps its metadata), so lookup by version is an index.
    versions: Vec<VersionEntry>,
    pub grants: HashMap<AppId, OperationSet>,
    /// The usage policy with its per-app rate limiters; `None` (the common case) costs the data
    /// plane one branch.
    pub policy: Option<Box<KeyPolicy>>,
}

impl KeyEntry {
    /// Builds an entry, checking the invariants the data plane relies on.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: KeyId,
        name: KeyName,
        algorithm: Algorithm,
        settings: KeySettings,
        created_at: Timestamp,
        min_decryption_version: KeyVersion,
        mut versions: Vec<VersionEntry>,
        grants: HashMap<AppId, OperationSet>,
    ) -> Result<Self, EngineError> {
        versions.sort_by_key(|v| v.version);
        let contiguous = versions
            .iter()
            .enumerate()
            .all(|(i, v)| usize::try_from(v.version.get()).ok() == Some(i + 1));
        if versions.is_empty() || !contiguous {
            return Err(EngineError::CorruptRecord("key versions are not 1..n"));
        }
        let mut active = versions.iter().filter(|v| v.state == VersionState::Active);
        let active_version = match (active.next(), active.next()) {
            (Some(v), None) => v.version,
            _ => {
                return Err(EngineError::CorruptRecord(
                    "a key needs exactly one active version",
                ));
            }
        };
        Ok(Self {
            id,
            name,
            algorithm,
            settings,
            created_at,
            active: active_version,
            min_decryption_version,
            versions,
            grants,
            policy: None,
        })
    }

    /// Sets the key's usage policy, with a rate limiter for each granted app (call after the
    /// grants are in place). An empty policy is no policy.
    pub fn with_policy(mut self, policy: Option<UsagePolicy>) -> Self {
        self.policy = policy
            .filter(|p| !p.is_empty())
            .map(|p| Box::new(KeyPolicy::new(p, self.grants.keys())));
        self
    }

    /// Carries the rate limiters' state over from the previous snapshot of this key.
    pub fn keep_rate_state(&mut self, previous: &KeyEntry) {
        if let (Some(new), Some(old)) = (&mut self.policy, &previous.policy) {
            new.keep_buckets(old);
        }
    }

    pub fn versions(&self) -> &[VersionEntry] {
        &self.versions
    }

    pub fn version(&self, version: KeyVersion) -> Option<&VersionEntry> {
        let index = usize::try_from(version.get()).ok()? - 1;
        self.versions.get(index)
    }

    pub fn wrap_context(&self, version: KeyVersion) -> WrapContext {
        WrapContext {
            key: self.id,
            version,
            algorithm: self.algorithm,
        }
    }

    /// Whether this key can do `op` at all (what a grant may allow): its algorithm's operations,
    /// and `hmac` for any general key (Vault Transit MACs with every key, through an HMAC key of
    /// each version's own; the native API's `hmac` stays with HMAC keys); for a password key the
    /// password operations (`/v1/passwords/{key}/<op>`).
    pub fn supports(&self, op: Operation) -> bool {
        match self.settings.purpose {
            Purpose::General => self.algorithm.supports(op) || op == Operation::Hmac,
            Purpose::Password(_) => {
                matches!(
                    op,
                    Operation::Protect | Operation::Verify | Operation::Rewrap
                )
            }
        }
    }

    /// Whether `app` holds a grant for `op` on this key.
    pub fn grants_app(&self, app: &AppId, op: Operation) -> bool {
        self.grants.get(app).is_some_and(|ops| ops.contains(op))
    }

    /// The version that encrypts now.
    pub fn encrypting_version(&self) -> Result<&VersionEntry, EngineError> {
        self.version(self.active)
            .filter(|v| v.state == VersionState::Active)
            .ok_or(EngineError::CorruptRecord("the active version is missing"))
    }

    /// The version that encrypts (or signs, or MACs) for a caller that may ask for one
    /// (Transit's `key_version`): the active one when `asked` is `None`; otherwise the asked
    /// version, if it is not above the latest, not below `min_encryption_version`, and usable.
    pub fn encrypting_version_at(
        &self,
        asked: Option<KeyVersion>,
    ) -> Result<&VersionEntry, EngineError> {
        let Some(asked) = asked else {
            return self.encrypting_version();
        };
        let latest = self.versions.last().map_or(0, |v| v.version.get());
        if asked.get() > latest {
            return Err(EngineError::InvalidArgument(
                "the requested key version is above the key's latest version".into(),
            ));
        }
        if asked.get() < self.settings.min_encryption_version {
            return Err(EngineError::InvalidArgument(
                "the requested key version is below the key's min_encryption_version".into(),
            ));
        }
        self.decrypting_version(asked)
    }

    /// The version a ciphertext names, if it may decrypt.
    pub fn decrypting_version(&self, version: KeyVersion) -> Result<&VersionEntry, EngineError> {
        let entry = self
            .version(version)
            .ok_or(EngineError::KeyVersionNotFound)?;
        if version < self.min_decryption_version {
            return Err(EngineError::BelowMinDecryptionVersion);
        }
        match entry.state {
            VersionState::Active | VersionState::DecryptOnly => Ok(entry),
            VersionState::Disabled => Err(EngineError::KeyVersionDisabled),
            VersionState::ScheduledForDestruction | VersionState::Destroyed => {
                Err(EngineError::KeyVersionDestroyed)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::MasterKeyId;

    fn version(n: u32, state: VersionState) -> VersionEntry {
        VersionEntry {
            version: KeyVersion::new(n).unwrap(),
            state,
            wrapped: Some(WrappedKey {
                master_key: MasterKeyId::new("mk").unwrap(),
                blob: n.to_be_bytes().to_vec(),
            }),
            created_at: Timestamp::from_millis(0),
            updated_at: Timestamp::from_millis(0),
            destroy_at: None,
        }
    }

    fn entry(states: &[VersionState], min: u32) -> Result<KeyEntry, EngineError> {
        let versions = states
            .iter()
            .enumerate()
            .map(|(i, s)| version(u32::try_from(i).unwrap() + 1, *s))
            .collect();
        KeyEntry::new(
            KeyId::random(),
            KeyName::new("k").unwrap(),
            Algorithm::Aes256Gcm,
            KeySettings::default(),
            Timestamp::from_millis(0),
            KeyVersion::new(min).unwrap(),
            versions,
            HashMap::new(),
        )
    }

    /// The stored purpose codes are part of the database format.
    #[test]
    fn purpose_codes_never_change() {
        let all = [
            (Purpose::General, 0),
            (Purpose::Password(Protection::Aead), 1),
            (Purpose::Password(Protection::Hash), 2),
        ];
        for (purpose, code) in all {
            assert_eq!(purpose.code(), code);
            assert_eq!(Purpose::from_code(code).unwrap(), purpose);
        }
        assert!(Purpose::from_code(3).is_err());
        assert_eq!(Protection::parse("hash").unwrap(), Protection::Hash);
        assert!(Protection::parse("argon2").is_err());
    }

    #[test]
    fn exactly_one_active_version_is_required() {
        use VersionState::*;
        assert!(entry(&[DecryptOnly], 1).is_err());
        assert!(entry(&[Active, Active], 1).is_err());
        let e = entry(&[DecryptOnly, Active], 1).unwrap();
        assert_eq!(e.active.get(), 2);
        assert_eq!(e.encrypting_version().unwrap().version.get(), 2);
    }

    #[test]
    fn decryption_follows_state_and_minimum() {
        use VersionState::*;
        let e = entry(
            &[
                Destroyed,
                Disabled,
                ScheduledForDestruction,
                DecryptOnly,
                Active,
            ],
            2,
        )
        .unwrap();
        let v = |n| KeyVersion::new(n).unwrap();
        assert!(matches!(
            e.decrypting_version(v(1)),
            Err(EngineError::BelowMinDecryptionVersion)
        ));
        assert!(matches!(
            e.decrypting_version(v(2)),
            Err(EngineError::KeyVersionDisabled)
        ));
        assert!(matches!(
            e.decrypting_version(v(3)),
            Err(EngineError::KeyVersionDestroyed)
        ));
        assert!(e.decrypting_version(v(4)).is_ok());
        assert!(e.decrypting_version(v(5)).is_ok());
        assert!(matches!(
            e.decrypting_version(v(6)),
            Err(EngineError::KeyVersionNotFound)
        ));
    }

    #[test]
    fn an_asked_version_encrypts_within_its_bounds() {
        use VersionState::*;
        let mut e = entry(&[DecryptOnly, DecryptOnly, Active], 1).unwrap();
        let v = |n| Some(KeyVersion::new(n).unwrap());
        assert_eq!(e.encrypting_version_at(None).unwrap().version.get(), 3);
        assert_eq!(e.encrypting_version_at(v(1)).unwrap().version.get(), 1);
        assert!(e.encrypting_version_at(v(4)).is_err());
        e.settings.min_encryption_version = 2;
        assert!(e.encrypting_version_at(v(1)).is_err());
        assert_eq!(e.encrypting_version_at(v(2)).unwrap().version.get(), 2);
    }

    #[test]
    fn grants_are_per_app_and_operation() {
        let mut e = entry(&[VersionState::Active], 1).unwrap();
        let app = AppId::random();
        e.grants
            .insert(app, [Operation::Encrypt].into_iter().collect());
        assert!(e.grants_app(&app, Operation::Encrypt));
        assert!(!e.grants_app(&app, Operation::Decrypt));
        assert!(!e.grants_app(&AppId::random(), Operation::Encrypt));
    }
}
