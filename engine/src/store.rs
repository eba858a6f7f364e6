//! The store interface the core needs. Backends (SQLite now; PostgreSQL and the remote store
//! client of the multi-node deployment later) implement [`KeyStore`] in their own crate.
//!
//! Every mutation is one transaction that also appends its audit record and a change-feed entry,
//! and returns the revision it committed. The key-sync actor follows the change feed; an admin
//! handler waits for the directory to reach the revision it committed before it answers, so a
//! client that creates a key can use it at once.

use std::time::Duration;

use async_trait::async_trait;

use crate::audit::{AuditEvent, AuditRecord};
use crate::clock::Timestamp;
use crate::directory::Credential;
use crate::ids::{AppId, AppName, KeyId, KeyName, KeyVersion, MasterKeyId};
use crate::keyring::KeyEntry;
use crate::master_key::{MasterKeyRecord, RotationJob};
use crate::people::{
    ApprovalRecord, AuditSeal, Enrolment, EnrolmentRecord, LoginState, NewApproval, Session,
    UserRecord, Vote,
};
use crate::role::RoleSet;
use crate::token::TokenHash;
use crate::wrap::{WrapContext, WrappedKey};

// Defined beside the directory that is built at a revision and holds the certificates.
pub use crate::directory::{CertificateCredential, Revision};
pub use crate::store_error::StoreError;
pub use crate::store_records::*;

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
    /// Restores a key from a Transit backup, in one transaction with its history entry and a
    /// change-feed entry (see [`KeyRestore`] for when it is refused).
    async fn restore_key(
        &self,
        restore: &KeyRestore,
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
    /// The key's hourly usage series: every hour that starts in `[since, until)`, ordered by
    /// hour, version and operation (hours without use are absent). `record_usage` fills it in
    /// the same transaction as the totals and prunes it to [`USAGE_SERIES_RETENTION_MS`].
    async fn usage_series(
        &self,
        key: KeyId,
        since: Timestamp,
        until: Timestamp,
    ) -> Result<Vec<UsageBucket>, StoreError>;

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
    /// How many seals there are (the last one's number: seals are chained and numbered).
    async fn audit_seal_count(&self) -> Result<u64, StoreError> {
        Ok(u64::try_from(self.audit_seals().await?.len()).unwrap_or(u64::MAX))
    }

    // ---- people ----
    /// Adds a user (`AlreadyExists("user")` if the name is taken).
    /// Creates a user without credentials, with the enrolment they set them with.
    async fn create_user(
        &self,
        user: &UserRecord,
        enrolment: &Enrolment,
        audit: &AuditEvent,
    ) -> Result<(), StoreError>;
    /// Ends a user's password, TOTP and sessions, revokes their unused enrolments and gives them
    /// a new one, in one transaction.
    async fn reset_user_credentials(
        &self,
        enrolment: &Enrolment,
        audit: &AuditEvent,
    ) -> Result<Revision, StoreError>;
    /// Gives a user a new enrolment while their credentials stay valid until it is used (a
    /// person renewing their own); their other unused enrolments end.
    async fn issue_enrolment(
        &self,
        enrolment: &Enrolment,
        audit: &AuditEvent,
    ) -> Result<(), StoreError>;
    async fn enrolment(&self, token: &TokenHash) -> Result<Option<EnrolmentRecord>, StoreError>;
    /// Offers a TOTP secret (sealed) on a usable enrolment (`NotFound("enrolment")` otherwise).
    async fn offer_enrolment_totp(
        &self,
        token: &TokenHash,
        totp_sealed: &[u8],
        at: Timestamp,
    ) -> Result<(), StoreError>;
    /// Uses the enrolment, once: the user's password becomes `password_hash` and their TOTP the
    /// secret offered; the login state starts afresh, the TOTP step the person proved it with
    /// spent (`NotFound("enrolment")` for an unusable or unoffered enrolment).
    async fn complete_enrolment(
        &self,
        token: &TokenHash,
        password_hash: &str,
        totp_step: u64,
        audit: &AuditEvent,
    ) -> Result<Revision, StoreError>;
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
    /// Records a successful login: the TOTP step it used, a clean failure count, and the
    /// session, in one transaction. A step that is not newer than the stored one (a code
    /// replayed by a concurrent login) or an account locked meanwhile fails with
    /// `Conflict("totp code")`.
    async fn record_login(
        &self,
        name: &str,
        totp_step: u64,
        session: &Session,
        audit: &AuditEvent,
    ) -> Result<Revision, StoreError>;
    /// Counts a failed login in one conditional update: the `max_failed`-th failure in a row
    /// locks the account until `locked_until`. While the account is locked nothing is counted
    /// (`None`), so concurrent failures lock it at exactly the limit.
    async fn record_login_failure(
        &self,
        name: &str,
        max_failed: u32,
        locked_until: Timestamp,
        audit: &AuditEvent,
    ) -> Result<Option<LoginState>, StoreError>;
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
    /// Takes the result an approved run left for its requester, once (`None` if there is none
    /// or it was taken).
    async fn take_private_result(
        &self,
        id: i64,
        at: Timestamp,
    ) -> Result<Option<String>, StoreError>;
    /// Records how a claimed request's run ended: its `result` for everyone who may read
    /// requests, and a `private` result for its requester alone (taken once).
    async fn finish_approval(
        &self,
        id: i64,
        result: &str,
        private: Option<&str>,
        audit: &AuditEvent,
    ) -> Result<(), StoreError>;

    // Zones (multi-node deployments, docs/deployment.md).
    /// Registers a zone's public key; a zone is registered once (`AlreadyExists("zone")`).
    async fn register_zone(&self, zone: &ZoneRecord, audit: &AuditEvent) -> Result<(), StoreError>;
    /// Every registered zone, by name.
    async fn zones(&self) -> Result<Vec<ZoneRecord>, StoreError>;

    // Nodes of the internal API (docs/deployment.md, "Watching the nodes").
    /// Records `contact`, replacing the node's earlier one unless that one is newer (another
    /// store process may have written a later contact first).
    async fn record_node_contact(&self, contact: &NodeContact) -> Result<(), StoreError>;
    /// Every node contact recorded, by fingerprint.
    async fn node_contacts(&self) -> Result<Vec<NodeContact>, StoreError>;
}
