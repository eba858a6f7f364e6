//! The store interface the core needs. Backends (SQLite now; PostgreSQL and the remote store
//! client of the multi-node deployment later) implement [`KeyStore`] in their own crate.
//!
//! Every mutation is one transaction that also appends its audit record and a change-feed entry,
//! and returns the revision it committed. The key-sync actor follows the change feed; an admin
//! handler waits for the directory to reach the revision it committed before it answers, so a
//! client that creates a key can use it at once.

use std::time::Duration;

use async_trait::async_trait;
use thiserror::Error;

use crate::algorithm::Algorithm;
use crate::algorithm::OperationSet;
use crate::audit::{AuditEvent, AuditRecord};
use crate::certificate::CertFingerprint;
use crate::clock::Timestamp;
use crate::directory::{Credential, Principal};
use crate::ids::{AppId, AppName, KeyId, KeyName, KeyVersion, MasterKeyId};
use crate::keyring::{KeyEntry, KeySettings};
use crate::master_key::{MasterKeyRecord, RotationJob};
use crate::people::{
    ApprovalRecord, AuditSeal, LoginState, NewApproval, Session, UserRecord, Vote,
};
use crate::policy::UsagePolicy;
use crate::role::RoleSet;
use crate::token::TokenHash;
use crate::version::VersionState;
use crate::wrap::{WrapContext, WrappedKey};

/// Position in the store's change feed. Strictly increasing, assigned in commit order.
pub type Revision = u64;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("{0} already exists")]
    AlreadyExists(&'static str),
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A concurrent change won (e.g. two rotations of one key); the caller may retry.
    #[error("conflicting concurrent change to {0}")]
    Conflict(&'static str),
    #[error("the store is unavailable: {0}")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("store query failed: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

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

/// A live certificate binding, as the directory loads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateCredential {
    pub fingerprint: CertFingerprint,
    pub principal: Principal,
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

#[async_trait]
pub trait KeyStore: Send + Sync + 'static {
    /// Closes the store's connections: every later call fails with [`StoreError::Unavailable`].
    async fn close(&self);

    // ---- change feed (key sync) ----
    async fn revision(&self) -> Result<Revision, StoreError>;
    /// Returns as soon as the revision is past `after`, or after `timeout` with the current one.
    async fn wait_for_change(
        &self,
        after: Revision,
        timeout: Duration,
    ) -> Result<Revision, StoreError>;
    /// Changes after `after`, oldest first, at most `limit`.
    async fn changes_since(
        &self,
        after: Revision,
        limit: u32,
    ) -> Result<Vec<(Revision, Change)>, StoreError>;
    async fn load_keys(&self) -> Result<Vec<KeyEntry>, StoreError>;
    async fn load_key(&self, id: KeyId) -> Result<Option<KeyEntry>, StoreError>;
    async fn load_credentials(&self) -> Result<Vec<Credential>, StoreError>;
    /// Live certificate bindings (reloaded with the credentials, on `Change::Credentials`).
    async fn load_certificates(&self) -> Result<Vec<CertificateCredential>, StoreError>;

    // ---- apps and administrators ----
    async fn create_app(
        &self,
        app: &AppRecord,
        token: &TokenHash,
        audit: &AuditEvent,
    ) -> Result<Revision, StoreError>;
    async fn find_app(&self, name: &AppName) -> Result<Option<AppRecord>, StoreError>;
    /// Sets the root token called `label`, replacing an earlier one of that label.
    async fn put_root_token(
        &self,
        label: &str,
        token: &TokenHash,
        audit: &AuditEvent,
    ) -> Result<Revision, StoreError>;

    // ---- keys ----
    async fn key_id(&self, name: &KeyName) -> Result<Option<KeyId>, StoreError>;
    async fn create_key(&self, key: &NewKey, audit: &AuditEvent) -> Result<Revision, StoreError>;
    async fn rotate_key(
        &self,
        rotation: &Rotation,
        audit: &AuditEvent,
    ) -> Result<Revision, StoreError>;
    async fn set_grant(&self, grant: &Grant, audit: &AuditEvent) -> Result<Revision, StoreError>;
    async fn key_history(&self, key: KeyId) -> Result<Vec<KeyEvent>, StoreError>;

    // ---- app tokens and usage policies ----
    /// Apps with their tokens, by name; `only`: that app (an empty list if there is none).
    async fn list_apps(&self, only: Option<&AppName>) -> Result<Vec<AppTokens>, StoreError>;
    /// Adds a token to an app and sets its live tokens to expire (`NotFound("app")`).
    async fn rotate_app_token(
        &self,
        rotation: &TokenRotation,
        audit: &AuditEvent,
    ) -> Result<Revision, StoreError>;
    /// Binds a certificate to an app (`NotFound("app")`; `AlreadyExists("certificate")` if it is
    /// bound already, to this app or another, even revoked: a fingerprint is never reused).
    async fn bind_app_certificate(
        &self,
        binding: &CertificateBinding,
        audit: &AuditEvent,
    ) -> Result<Revision, StoreError>;
    /// Revokes every live token and certificate binding of the app at `at`; returns how many
    /// tokens.
    async fn revoke_app_tokens(
        &self,
        app: AppId,
        at: Timestamp,
        audit: &AuditEvent,
    ) -> Result<(Revision, u64), StoreError>;
    /// Sets or removes a key's usage policy, with a history entry (`NotFound("key")`).
    async fn set_key_policy(
        &self,
        change: &PolicyChange,
        audit: &AuditEvent,
    ) -> Result<Revision, StoreError>;

    // ---- the version lifecycle ----
    async fn change_version(
        &self,
        change: &VersionChange,
        audit: &AuditEvent,
    ) -> Result<Revision, StoreError>;
    async fn rollback_key(
        &self,
        rollback: &Rollback,
        audit: &AuditEvent,
    ) -> Result<Revision, StoreError>;
    async fn configure_key(
        &self,
        key: KeyId,
        config: &KeyConfig,
        at: Timestamp,
        actor: &str,
        reason: &str,
        audit: &AuditEvent,
    ) -> Result<Revision, StoreError>;
    /// Deletes a key whose `deletion_allowed` is set (`Conflict` otherwise; `NotFound("key")` for
    /// a missing or already deleted key), in one transaction: every version destroyed (material
    /// erased from the store and the database files, as a destruction erases it), its grants and
    /// usage policy removed, the key no longer loaded nor found by name (which is free for a new
    /// key), a change-feed entry for the key. Its history, usage and audit records stay.
    async fn delete_key(
        &self,
        deletion: &KeyDeletion,
        audit: &AuditEvent,
    ) -> Result<Revision, StoreError>;
    /// Destroys every version whose destruction time has come: material erased from the store
    /// (and from the database files), metadata kept. Returns what it destroyed.
    async fn destroy_due_versions(
        &self,
        now: Timestamp,
    ) -> Result<Vec<(KeyId, KeyVersion)>, StoreError>;

    // ---- events, notices, webhooks ----
    /// Records an event and a pending delivery to each webhook URL, in one transaction.
    async fn append_event(
        &self,
        event: &EventRecord,
        webhooks: &[String],
    ) -> Result<i64, StoreError>;
    /// Records the rotation notice for `key`'s active `version` with its event, unless one was
    /// already recorded (then `None`).
    async fn record_rotation_notice(
        &self,
        key: KeyId,
        version: KeyVersion,
        event: &EventRecord,
        webhooks: &[String],
    ) -> Result<Option<i64>, StoreError>;
    async fn events(&self, after: i64, limit: u32) -> Result<Vec<EventRecord>, StoreError>;
    async fn due_deliveries(&self, now: Timestamp, limit: u32)
    -> Result<Vec<Delivery>, StoreError>;
    /// `Ok`: delivered. `Err(next)`: failed, try again at `next` (`None`: give up).
    async fn delivery_outcome(
        &self,
        event: i64,
        url: &str,
        at: Timestamp,
        outcome: Result<(), (String, Option<Timestamp>)>,
    ) -> Result<(), StoreError>;

    // ---- usage ----
    async fn record_usage(&self, usage: &[crate::pool::UsageRecord]) -> Result<(), StoreError>;
    async fn usage(&self, key: KeyId) -> Result<Vec<UsageSummary>, StoreError>;

    // ---- master keys ----
    async fn master_keys(&self) -> Result<Vec<MasterKeyRecord>, StoreError>;
    /// Records the first master key (state active) and the root token of a newly initialised
    /// KMS. Fails with `AlreadyExists("master key")` once a master key is active.
    async fn initialize_master_key(
        &self,
        key: &MasterKeyRecord,
        root_label: &str,
        root_token: &TokenHash,
        audit: &AuditEvent,
    ) -> Result<Revision, StoreError>;
    /// Starts a rotation: the active master key becomes retiring, `new` becomes active, and a
    /// rewrap job is recorded, in one transaction.
    async fn begin_master_key_rotation(
        &self,
        new: &MasterKeyRecord,
        audit: &AuditEvent,
    ) -> Result<RotationJob, StoreError>;
    /// Rotation jobs that are not done, oldest first.
    async fn unfinished_rotations(&self) -> Result<Vec<RotationJob>, StoreError>;
    async fn rotation(&self, id: i64) -> Result<Option<RotationJob>, StoreError>;
    /// Up to `limit` versions whose material is wrapped under `master_key`.
    async fn versions_wrapped_under(
        &self,
        master_key: &MasterKeyId,
        limit: u32,
    ) -> Result<Vec<(WrapContext, WrappedKey)>, StoreError>;
    /// How many versions are wrapped under `master_key`.
    async fn count_wrapped_under(&self, master_key: &MasterKeyId) -> Result<u64, StoreError>;
    /// Replaces the wrapped material of versions still wrapped under the job's old master key
    /// with their rewrapped form, in one transaction. Returns the revision committed.
    async fn store_rewrapped(
        &self,
        job: i64,
        rewrapped: &[(WrapContext, WrappedKey)],
    ) -> Result<Revision, StoreError>;
    /// Marks the job rewrapped, provided no version is left under the old key (`Conflict`
    /// otherwise).
    async fn finish_rewrap(&self, job: i64) -> Result<(), StoreError>;
    /// After the old master key is destroyed in the HSM: the key is recorded destroyed, the job
    /// done.
    async fn complete_rotation(&self, job: i64, audit: &AuditEvent) -> Result<(), StoreError>;
    /// Records a master key destroyed; refused (`Conflict`) while it is active or anything is
    /// wrapped under it.
    async fn destroy_master_key(
        &self,
        id: &MasterKeyId,
        audit: &AuditEvent,
    ) -> Result<(), StoreError>;

    // ---- audit ----
    /// Appends events (refusals seen by the data plane), chained, in one transaction.
    async fn append_audit(&self, events: &[AuditEvent]) -> Result<(), StoreError>;
    async fn audit_log(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError>;
    /// The chain's head: the last sequence number and its hash (0 and the genesis value when empty).
    async fn audit_head(&self) -> Result<(u64, [u8; 32]), StoreError>;

    // ---- backup ----
    /// Writes a consistent copy of the whole store to `to`, a file that must not exist yet
    /// (docs/backup.md). Concurrent writers are not blocked for long: the copy is one read
    /// transaction.
    async fn snapshot(&self, to: &std::path::Path) -> Result<(), StoreError>;
    async fn append_audit_seal(&self, seal: &AuditSeal) -> Result<(), StoreError>;
    /// Every seal, oldest first.
    async fn audit_seals(&self) -> Result<Vec<AuditSeal>, StoreError>;
    async fn last_audit_seal(&self) -> Result<Option<AuditSeal>, StoreError>;

    // ---- people ----
    /// Adds a user (`AlreadyExists("user")` if the name is taken).
    async fn create_user(&self, user: &UserRecord, audit: &AuditEvent) -> Result<(), StoreError>;
    async fn user(&self, name: &str) -> Result<Option<UserRecord>, StoreError>;
    async fn users(&self) -> Result<Vec<UserRecord>, StoreError>;
    /// Replaces a user's roles; their open sessions carry the new roles from the next sync.
    async fn set_user_roles(
        &self,
        name: &str,
        roles: RoleSet,
        audit: &AuditEvent,
    ) -> Result<Revision, StoreError>;
    /// Disables (ending every session) or re-enables a user; enabling also clears a lock.
    async fn set_user_disabled(
        &self,
        name: &str,
        disabled: bool,
        audit: &AuditEvent,
    ) -> Result<Revision, StoreError>;
    /// Records a login attempt: the user's new login state and, for a success, the session, in
    /// one transaction. A success whose TOTP step is not newer than the stored one (a code
    /// replayed by a concurrent login) fails with `Conflict("totp code")`.
    async fn record_login(
        &self,
        name: &str,
        state: &LoginState,
        session: Option<&Session>,
        audit: &AuditEvent,
    ) -> Result<Revision, StoreError>;
    /// Ends a session (logout).
    async fn end_session(
        &self,
        hash: &TokenHash,
        audit: &AuditEvent,
    ) -> Result<Revision, StoreError>;
    /// Revokes every live root token; returns how many there were.
    async fn revoke_root_tokens(&self, audit: &AuditEvent) -> Result<(Revision, u64), StoreError>;

    // ---- approvals ----
    async fn create_approval(
        &self,
        approval: &NewApproval,
        audit: &AuditEvent,
    ) -> Result<i64, StoreError>;
    async fn approval(&self, id: i64) -> Result<Option<ApprovalRecord>, StoreError>;
    /// Newest first, at most `limit`; only pending ones if `pending_only`.
    async fn approvals(
        &self,
        pending_only: bool,
        limit: u32,
    ) -> Result<Vec<ApprovalRecord>, StoreError>;
    /// Records a vote on a pending, unexpired request (`Conflict("approval")` otherwise;
    /// `AlreadyExists("vote")` for a second vote by the same user). A rejection ends the request.
    async fn vote(
        &self,
        id: i64,
        vote: &Vote,
        audit: &AuditEvent,
    ) -> Result<ApprovalRecord, StoreError>;
    /// Moves a pending, unexpired request to executing. True for exactly one caller.
    async fn claim_approval(&self, id: i64, at: Timestamp) -> Result<bool, StoreError>;
    /// Records the run's result; the request is executed.
    async fn finish_approval(
        &self,
        id: i64,
        result: &str,
        audit: &AuditEvent,
    ) -> Result<(), StoreError>;

    // Zones (multi-node deployments, docs/deployment.md).
    /// Registers a zone's public key; a zone is registered once (`AlreadyExists("zone")`).
    async fn register_zone(&self, zone: &ZoneRecord, audit: &AuditEvent) -> Result<(), StoreError>;
    /// Every registered zone, by name.
    async fn zones(&self) -> Result<Vec<ZoneRecord>, StoreError>;
}
