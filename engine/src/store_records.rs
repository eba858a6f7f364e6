//! The records the store interface ([`crate::store::KeyStore`]) reads and writes: apps, tokens,
//! certificates, key changes, events, usage, zones and audit queries.

use crate::algorithm::Algorithm;
use crate::algorithm::OperationSet;
use crate::certificate::CertFingerprint;
use crate::clock::Timestamp;
use crate::directory::Revision;
use crate::ids::{AppId, AppName, KeyId, KeyName, KeyVersion};
use crate::keyring::KeySettings;
use crate::policy::UsagePolicy;
use crate::token::TokenHash;
use crate::version::VersionState;
use crate::wrap::WrappedKey;

/// What changed at a revision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// A key, one of its versions or one of its grants.
    Key(KeyId),
    /// An app or a token (apps' and administrators' credentials are reloaded together).
    Credentials,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppRecord {
    pub id: AppId,
    pub name: AppName,
    pub created_at: Timestamp,
}

/// One of an app's tokens, as listed (never the token or its full hash).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRecord {
    /// [`TokenHash::id`].
    pub id: String,
    pub created_at: Timestamp,
    /// Set by a rotation: the token stops working then.
    pub expires_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

/// An app and every token it was ever issued, oldest first, with its certificate bindings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppTokens {
    pub app: AppRecord,
    pub tokens: Vec<TokenRecord>,
    pub certificates: Vec<CertificateRecord>,
}

/// A client certificate bound to an app, as listed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateRecord {
    pub fingerprint: CertFingerprint,
    pub created_at: Timestamp,
    /// Set when the app was revoked: the certificate no longer authenticates.
    pub revoked_at: Option<Timestamp>,
}

/// Binds a client certificate (by fingerprint) to an app.
#[derive(Clone, Debug)]
pub struct CertificateBinding {
    pub app: AppId,
    pub fingerprint: CertFingerprint,
    pub at: Timestamp,
}

/// A new token for an app; the app's live tokens expire at `old_expire_at` (or earlier, if
/// they already expire earlier).
#[derive(Clone, Debug)]
pub struct TokenRotation {
    pub app: AppId,
    pub token: TokenHash,
    pub at: Timestamp,
    pub old_expire_at: Timestamp,
}

/// A key's usage policy set (`Some`) or removed (`None`).
#[derive(Clone, Debug)]
pub struct PolicyChange {
    pub key: KeyId,
    pub policy: Option<UsagePolicy>,
    pub at: Timestamp,
    pub actor: String,
}

/// A new key with its first version.
#[derive(Clone, Debug)]
pub struct NewKey {
    pub id: KeyId,
    pub name: KeyName,
    pub algorithm: Algorithm,
    pub settings: KeySettings,
    pub wrapped: WrappedKey,
    pub at: Timestamp,
    pub actor: String,
}

/// A rotation: `new_version` becomes active and the current active version decrypt-only, provided
/// the key's latest version is still `new_version - 1` (otherwise [`StoreError::Conflict`]).
#[derive(Clone, Debug)]
pub struct Rotation {
    pub key: KeyId,
    pub new_version: KeyVersion,
    pub wrapped: WrappedKey,
    pub at: Timestamp,
    pub actor: String,
    pub reason: String,
}

/// A grant replacing whatever the app held on the key.
#[derive(Clone, Debug)]
pub struct Grant {
    pub key: KeyId,
    pub app: AppId,
    /// For the key's history, which names the app.
    pub app_name: AppName,
    pub operations: OperationSet,
    pub at: Timestamp,
    pub actor: String,
}

/// An administrator's change to one version's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VersionAction {
    /// decrypt-only → disabled (reversible; the active version cannot be disabled).
    Disable,
    /// disabled → decrypt-only.
    Enable,
    /// decrypt-only or disabled → scheduled for destruction, destroyed at `destroy_at`.
    ScheduleDestruction { destroy_at: Timestamp },
    /// scheduled for destruction → disabled.
    CancelDestruction,
}

impl VersionAction {
    pub fn name(self) -> &'static str {
        match self {
            VersionAction::Disable => "disable",
            VersionAction::Enable => "enable",
            VersionAction::ScheduleDestruction { .. } => "schedule_destruction",
            VersionAction::CancelDestruction => "cancel_destruction",
        }
    }
}

#[derive(Clone, Debug)]
pub struct VersionChange {
    pub key: KeyId,
    pub version: KeyVersion,
    pub action: VersionAction,
    pub at: Timestamp,
    pub actor: String,
    pub reason: String,
}

/// The previous version active again (the highest decrypt-only version below the active one);
/// the active one becomes decrypt-only.
#[derive(Clone, Debug)]
pub struct Rollback {
    pub key: KeyId,
    pub at: Timestamp,
    pub actor: String,
    pub reason: String,
}

/// Changes to a key's settings; `None` leaves a setting as it is.
#[derive(Clone, Debug, Default)]
pub struct KeyConfig {
    pub min_decryption_version: Option<KeyVersion>,
    /// `Some(None)` turns scheduled rotation off.
    pub rotation_period_ms: Option<Option<i64>>,
    pub notice_period_ms: Option<i64>,
    /// Vault's `deletion_allowed`.
    pub deletion_allowed: Option<bool>,
    /// Vault Transit's `min_encryption_version` (0: none); not above the latest version.
    pub min_encryption_version: Option<u32>,
    /// Vault Transit's `exportable`: may only be turned on, as in Vault (exports still need a
    /// quorum's approval).
    pub exportable: Option<bool>,
    /// Vault Transit's `allow_plaintext_backup`: may only be turned on, as in Vault (backups
    /// still need a quorum's approval).
    pub allow_plaintext_backup: Option<bool>,
}

impl KeyConfig {
    /// Nothing to change.
    pub fn is_empty(&self) -> bool {
        self.min_decryption_version.is_none()
            && self.rotation_period_ms.is_none()
            && self.notice_period_ms.is_none()
            && self.deletion_allowed.is_none()
            && self.min_encryption_version.is_none()
            && self.exportable.is_none()
            && self.allow_plaintext_backup.is_none()
    }
}

/// A key deleted by an administrator (only a key whose `deletion_allowed` is set).
#[derive(Clone, Debug)]
pub struct KeyDeletion {
    pub key: KeyId,
    pub at: Timestamp,
    pub actor: String,
    pub reason: String,
}

/// A key brought back from a Transit backup (docs/vault-compat.md, `restore`): its id, name,
/// algorithm, settings and every version as the backup holds them, the material rewrapped under
/// the active master key. Written under its own id: as a new key, over a deleted key of that id
/// (undeleted), or, with `force`, over the live key of that id (its versions replaced). A name
/// held by another key is `AlreadyExists("key")`; without `force`, a live key of that id is
/// `AlreadyExists("key")` too, and with it `Conflict` when the live key has a version newer than
/// the backup's (it would be lost, and its number reused by the next rotation).
#[derive(Clone, Debug)]
pub struct KeyRestore {
    pub id: KeyId,
    pub name: KeyName,
    pub algorithm: Algorithm,
    pub settings: KeySettings,
    pub created_at: Timestamp,
    pub min_decryption_version: KeyVersion,
    /// Every version, in order; a destroyed one without material.
    pub versions: Vec<RestoredVersion>,
    pub force: bool,
    pub at: Timestamp,
    pub actor: String,
    pub reason: String,
}

/// One version of a [`KeyRestore`].
#[derive(Clone, Debug)]
pub struct RestoredVersion {
    pub version: KeyVersion,
    pub state: VersionState,
    pub wrapped: Option<WrappedKey>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub destroy_at: Option<Timestamp>,
}

/// A lifecycle event, for `GET /v1/admin/events` and the webhooks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventRecord {
    pub id: i64,
    pub at: Timestamp,
    /// `rotation_notice`, `key_rotated`, `key_rolled_back`, `version_destruction_scheduled`,
    /// `version_destroyed`, `key_deleted`.
    pub kind: String,
    pub key: Option<KeyId>,
    pub key_name: Option<String>,
    pub version: Option<KeyVersion>,
    /// JSON object.
    pub detail: String,
}

/// A webhook delivery that is due.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub event: EventRecord,
    pub url: String,
    pub attempts: u32,
}

/// Use of one version by one caller for one operation, summed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageSummary {
    pub version: KeyVersion,
    pub principal: String,
    pub operation: crate::algorithm::Operation,
    pub count: u64,
    pub last_used: Timestamp,
}

/// How long the store keeps the hourly usage series ([`UsageBucket`]): 90 days. Each usage write
/// deletes, in its transaction, the hours that began longer ago than this by the store's clock;
/// the totals ([`UsageSummary`]) are kept for good.
pub const USAGE_SERIES_RETENTION_MS: i64 = 90 * 24 * 3_600_000;

/// One hour of the usage series: the calls of one version for one operation in one UTC hour, all
/// callers together.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageBucket {
    pub version: KeyVersion,
    pub operation: crate::algorithm::Operation,
    /// The start of the hour.
    pub hour: Timestamp,
    pub count: u64,
}

/// One entry of a key's history: who changed which version, when, from what to what, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyEvent {
    pub at: Timestamp,
    pub version: Option<KeyVersion>,
    pub action: String,
    pub from_state: Option<VersionState>,
    pub to_state: Option<VersionState>,
    pub actor: String,
    pub reason: Option<String>,
}

/// A zone (data centre) and the public half of its zone master key, to which the store wraps
/// working keys for the zone's service nodes. Registered through an approved request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZoneRecord {
    pub name: String,
    /// SPKI PEM of an RSA-3072 key.
    pub public_key_pem: String,
    /// Lowercase hex SHA-256 of the key's SPKI DER.
    pub fingerprint: String,
    pub registered_at: Timestamp,
    pub registered_by: String,
}

/// What the store last heard from one node of its internal API (pinned by its certificate's
/// fingerprint): when, and the readiness and applied revision the node reported with it. Written
/// at most every few seconds per node; several store processes on one database share it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeContact {
    /// Lowercase hex SHA-256 of the node's certificate.
    pub fingerprint: String,
    /// The zone the store's configuration pins the certificate to (a service node's).
    pub zone: Option<String>,
    pub last_seen: Timestamp,
    /// The readiness the node reported (`ready`, `degraded`, ...), if it reports one.
    pub status: Option<String>,
    /// The revision of the change feed the node reported it has applied.
    pub applied: Option<Revision>,
}

#[derive(Clone, Debug, Default)]
pub struct AuditQuery {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub target: Option<String>,
    /// Entries at or after this time.
    pub since: Option<Timestamp>,
    /// Entries before this time.
    pub until: Option<Timestamp>,
    pub after_seq: Option<u64>,
    pub limit: u32,
}
