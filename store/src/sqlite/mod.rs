//! The SQLite backend.
//!
//! Writes go through a pool of one connection and `BEGIN IMMEDIATE`, so writers queue in process
//! instead of failing with SQLITE_BUSY; reads use a separate pool. After each commit the new
//! revision is broadcast to in-process waiters (the key-sync actor's long poll); waiters also poll
//! the file, so a second process writing the same file is seen too.

mod approvals;
mod apps;
mod audit;
mod certificates;
mod deletion;
mod events;
mod feed;
mod keys;
mod lifecycle;
mod master_keys;
mod people;
mod policies;
mod usage;
mod zones;

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use kms_engine::audit::{AuditEvent, AuditRecord};
use kms_engine::clock::{Clock, SystemClock, Timestamp};
use kms_engine::directory::Credential;
use kms_engine::ids::{AppId, AppName, KeyId, KeyName, KeyVersion, MasterKeyId};
use kms_engine::keyring::KeyEntry;
use kms_engine::master_key::{MasterKeyRecord, RotationJob};
use kms_engine::people::{
    ApprovalRecord, AuditSeal, LoginState, NewApproval, Session, UserRecord, Vote,
};
use kms_engine::pool::UsageRecord;
use kms_engine::role::RoleSet;
use kms_engine::store::{
    AppRecord, AppTokens, AuditQuery, CertificateBinding, CertificateCredential, Change, Delivery,
    EventRecord, Grant, KeyConfig, KeyDeletion, KeyEvent, KeyStore, NewKey, PolicyChange, Revision,
    Rollback, Rotation, StoreError, TokenRotation, UsageSummary, VersionChange, ZoneRecord,
};
use kms_engine::token::TokenHash;
use kms_engine::wrap::{WrapContext, WrappedKey};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Sqlite, Transaction};
use tokio::sync::watch;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

pub struct SqliteStore {
    read: SqlitePool,
    write: SqlitePool,
    notify: watch::Sender<Revision>,
    clock: Arc<dyn Clock>,
}

/// Maps a driver error. Connection-level failures mean the store is unavailable; the rest are
/// query failures.
pub(crate) fn db_err(e: sqlx::Error) -> StoreError {
    match e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::WorkerCrashed => StoreError::Unavailable(Box::new(e)),
        other => StoreError::Backend(Box::new(other)),
    }
}

/// True when `e` is a UNIQUE or PRIMARY KEY violation.
pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

/// Maps a UNIQUE or PRIMARY KEY violation to `on_duplicate`, anything else as [`db_err`].
pub(crate) fn unique_err(on_duplicate: StoreError) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |e| {
        if is_unique_violation(&e) {
            on_duplicate
        } else {
            db_err(e)
        }
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and brings its schema up to date.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_with_clock(path, Arc::new(SystemClock)).await
    }

    /// As [`open`](Self::open), with the clock that stamps the rows the store writes itself.
    pub async fn open_with_clock(path: &Path, clock: Arc<dyn Clock>) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str("sqlite://")
            .map_err(db_err)?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            // Freed cells are overwritten with zeros: destroyed key material does not linger in
            // the file's free space.
            .pragma("secure_delete", "ON")
            .busy_timeout(Duration::from_secs(5));
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await
            .map_err(db_err)?;
        MIGRATOR
            .run(&write)
            .await
            .map_err(|e| StoreError::Backend(Box::new(e)))?;
        let read = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.read_only(true))
            .await
            .map_err(db_err)?;
        let store = Self {
            read,
            write,
            notify: watch::Sender::new(0),
            clock,
        };
        let revision = feed::current_revision(&store.read).await?;
        store.notify.send_replace(revision);
        Ok(store)
    }

    pub(crate) async fn begin(&self) -> Result<Transaction<'static, Sqlite>, StoreError> {
        self.write
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db_err)
    }

    /// Commits and tells waiters about the new revision.
    pub(crate) async fn commit(
        &self,
        tx: Transaction<'static, Sqlite>,
        revision: Revision,
    ) -> Result<Revision, StoreError> {
        tx.commit().await.map_err(db_err)?;
        self.notify.send_if_modified(|r| {
            let newer = revision > *r;
            if newer {
                *r = revision;
            }
            newer
        });
        Ok(revision)
    }

    /// Ends a write transaction the usual way: its audit record, its change-feed entry, commit.
    pub(crate) async fn commit_change(
        &self,
        mut tx: Transaction<'static, Sqlite>,
        audit_event: &AuditEvent,
        change: Change,
        at: Timestamp,
    ) -> Result<Revision, StoreError> {
        audit::append(&mut tx, audit_event).await?;
        let revision = feed::record(&mut tx, change, at).await?;
        self.commit(tx, revision).await
    }

    pub(crate) fn now(&self) -> Timestamp {
        self.clock.now()
    }

    pub async fn close(&self) {
        self.write.close().await;
        self.read.close().await;
    }
}

#[async_trait]
impl KeyStore for SqliteStore {
    async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
    }

    async fn revision(&self) -> Result<Revision, StoreError> {
        feed::current_revision(&self.read).await
    }

    async fn wait_for_change(
        &self,
        after: Revision,
        timeout: Duration,
    ) -> Result<Revision, StoreError> {
        self.wait(after, timeout).await
    }

    async fn changes_since(
        &self,
        after: Revision,
        limit: u32,
    ) -> Result<Vec<(Revision, Change)>, StoreError> {
        feed::changes_since(&self.read, after, limit).await
    }

    async fn load_keys(&self) -> Result<Vec<KeyEntry>, StoreError> {
        keys::load(&self.read, None).await
    }

    async fn load_key(&self, id: KeyId) -> Result<Option<KeyEntry>, StoreError> {
        Ok(keys::load(&self.read, Some(id)).await?.pop())
    }

    async fn load_credentials(&self) -> Result<Vec<Credential>, StoreError> {
        let mut credentials = apps::credentials(&self.read, self.now()).await?;
        credentials.extend(people::session_credentials(&self.read).await?);
        Ok(credentials)
    }

    async fn load_certificates(&self) -> Result<Vec<CertificateCredential>, StoreError> {
        certificates::load(&self.read).await
    }

    async fn create_app(
        &self,
        app: &AppRecord,
        token: &TokenHash,
        audit: &AuditEvent,
    ) -> Result<Revision, StoreError> {
        self.create_app_tx(app, token, audit).await
    }

    async fn find_app(&self, name: &AppName) -> Result<Option<AppRecord>, StoreError> {
        apps::find(&self.read, name).await
    }

    async fn put_root_token(
        &self,
        label: &str,
        token: &TokenHash,
        audit: &AuditEvent,
    ) -> Result<Revision, StoreError> {
        self.put_root_token_tx(label, token, audit).await
    }

    async fn key_id(&self, name: &KeyName) -> Result<Option<KeyId>, StoreError> {
        keys::id_by_name(&self.read, name).await
    }

    async fn create_key(&self, key: &NewKey, audit: &AuditEvent) -> Result<Revision, StoreError> {
        self.create_key_tx(key, audit).await
    }

    async fn rotate_key(
        &self,
        rotation: &Rotation,
        audit: &AuditEvent,
    ) -> Result<Revision, StoreError> {
        self.rotate_key_tx(rotation, audit).await
    }

    async fn set_grant(&self, grant: &Grant, audit: &AuditEvent) -> Result<Revision, StoreError> {
        self.set_grant_tx(grant, audit).await
    }

    async fn key_history(&self, key: KeyId) -> Result<Vec<KeyEvent>, StoreError> {
        keys::history(&self.read, key).await
    }

    async fn list_apps(&self, only: Option<&AppName>) -> Result<Vec<AppTokens>, StoreError> {
        apps::list(&self.read, only).await
    }

    async fn rotate_app_token(
        &self,
        rotation: &TokenRotation,
        audit: &AuditEvent,
    ) -> Result<Revision, StoreError> {
        self.rotate_app_token_tx(rotation, audit).await
    }

    async fn bind_app_certificate(
        &self,
        binding: &CertificateBinding,
        audit: &AuditEvent,
    ) -> Result<Revision, StoreError> {
        self.bind_app_certificate_tx(binding, audit).await
    }

    async fn revoke_app_tokens(
        &self,
        app: AppId,
        at: Timestamp,
        audit: &AuditEvent,
    ) -> Result<(Revision, u64), StoreError> {
        self.revoke_app_tokens_tx(app, at, audit).await
    }

    async fn set_key_policy(
        &self,
        change: &PolicyChange,
        audit: &AuditEvent,
    ) -> Result<Revision, StoreError> {
        self.set_key_policy_tx(change, audit).await
    }

    async fn change_version(
        &self,
        change: &VersionChange,
        audit: &AuditEvent,
    ) -> Result<Revision, StoreError> {
        self.change_version_tx(change, audit).await
    }

    async fn rollback_key(
        &self,
        rollback: &Rollback,
        audit: &AuditEvent,
    ) -> Result<Revision, StoreError> {
        self.rollback_tx(rollback, audit).await
    }

    async fn configure_key(
        &self,
        key: KeyId,
        config: &KeyConfig,
        at: Timestamp,
        actor: &str,
        reason: &str,
        audit: &AuditEvent,
    ) -> Result<Revision, StoreError> {
        self.configure_tx(key, config, at, actor, reason, audit)
            .await
    }

    async fn delete_key(
        &self,
        deletion: &KeyDeletion,
        audit: &AuditEvent,
    ) -> Result<Revision, StoreError> {
        self.delete_key_tx(deletion, audit).await
    }

    async fn destroy_due_versions(
        &self,
        now: Timestamp,
    ) -> Result<Vec<(KeyId, KeyVersion)>, StoreError> {
        self.destroy_due_tx(now).await
    }

    async fn append_event(
        &self,
        event: &EventRecord,
        webhooks: &[String],
    ) -> Result<i64, StoreError> {
        self.append_event_tx(event, webhooks).await
    }

    async fn record_rotation_notice(
        &self,
        key: KeyId,
        version: KeyVersion,
        event: &EventRecord,
        webhooks: &[String],
    ) -> Result<Option<i64>, StoreError> {
        self.record_notice_tx(key, version, event, webhooks).await
    }

    async fn events(&self, after: i64, limit: u32) -> Result<Vec<EventRecord>, StoreError> {
        events::list(&self.read, after, limit).await
    }

    async fn due_deliveries(
        &self,
        now: Timestamp,
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError> {
        events::due(&self.read, now, limit).await
    }

    async fn delivery_outcome(
        &self,
        event: i64,
        url: &str,
        at: Timestamp,
        outcome: Result<(), (String, Option<Timestamp>)>,
    ) -> Result<(), StoreError> {
        self.delivery_outcome_tx(event, url, at, outcome).await
    }

    async fn record_usage(&self, usage: &[UsageRecord]) -> Result<(), StoreError> {
        self.record_usage_tx(usage).await
    }

    async fn usage(&self, key: KeyId) -> Result<Vec<UsageSummary>, StoreError> {
        usage::summary(&self.read, key).await
    }

    async fn master_keys(&self) -> Result<Vec<MasterKeyRecord>, StoreError> {
        master_keys::all(&self.read).await
    }

    async fn initialize_master_key(
        &self,
        key: &MasterKeyRecord,
        root_label: &str,
        root_token: &TokenHash,
        audit: &AuditEvent,
    ) -> Result<Revision, StoreError> {
        self.initialize_master_key_tx(key, root_label, root_token, audit)
            .await
    }

    async fn begin_master_key_rotation(
        &self,
        new: &MasterKeyRecord,
        audit: &AuditEvent,
    ) -> Result<RotationJob, StoreError> {
        self.begin_rotation_tx(new, audit).await
    }

    async fn unfinished_rotations(&self) -> Result<Vec<RotationJob>, StoreError> {
        master_keys::unfinished(&self.read).await
    }

    async fn rotation(&self, id: i64) -> Result<Option<RotationJob>, StoreError> {
        master_keys::rotation(&self.read, id).await
    }

    async fn versions_wrapped_under(
        &self,
        master_key: &MasterKeyId,
        limit: u32,
    ) -> Result<Vec<(WrapContext, WrappedKey)>, StoreError> {
        master_keys::wrapped_under(&self.read, master_key, limit).await
    }

    async fn count_wrapped_under(&self, master_key: &MasterKeyId) -> Result<u64, StoreError> {
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM key_versions WHERE master_key_id = ?")
                .bind(master_key.as_str())
                .fetch_one(&self.read)
                .await
                .map_err(db_err)?;
        u64::try_from(n).map_err(|_| StoreError::Corrupt("negative count".into()))
    }

    async fn store_rewrapped(
        &self,
        job: i64,
        rewrapped: &[(WrapContext, WrappedKey)],
    ) -> Result<Revision, StoreError> {
        self.store_rewrapped_tx(job, rewrapped).await
    }

    async fn finish_rewrap(&self, job: i64) -> Result<(), StoreError> {
        self.finish_rewrap_tx(job).await
    }

    async fn complete_rotation(&self, job: i64, audit: &AuditEvent) -> Result<(), StoreError> {
        self.complete_rotation_tx(job, audit).await
    }

    async fn destroy_master_key(
        &self,
        id: &MasterKeyId,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        self.destroy_master_key_tx(id, audit).await
    }

    async fn append_audit(&self, events: &[AuditEvent]) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        for e in events {
            audit::append(&mut tx, e).await?;
        }
        tx.commit().await.map_err(db_err)
    }

    async fn audit_log(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError> {
        audit::query(&self.read, query).await
    }

    async fn audit_head(&self) -> Result<(u64, [u8; 32]), StoreError> {
        audit::head(&self.read).await
    }

    async fn snapshot(&self, to: &Path) -> Result<(), StoreError> {
        // `VACUUM INTO` copies the database as one read transaction sees it, into a new,
        // compacted file (no WAL, no free pages holding old rows).
        let to = to
            .to_str()
            .ok_or_else(|| StoreError::Corrupt("the snapshot path is not UTF-8".into()))?;
        sqlx::query("VACUUM INTO ?")
            .bind(to)
            .execute(&self.read)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn append_audit_seal(&self, seal: &AuditSeal) -> Result<(), StoreError> {
        audit::add_seal(&self.write, seal).await
    }

    async fn audit_seals(&self) -> Result<Vec<AuditSeal>, StoreError> {
        audit::seals(&self.read, false).await
    }

    async fn last_audit_seal(&self) -> Result<Option<AuditSeal>, StoreError> {
        Ok(audit::seals(&self.read, true).await?.pop())
    }

    async fn create_user(&self, user: &UserRecord, audit: &AuditEvent) -> Result<(), StoreError> {
        self.create_user_tx(user, audit).await
    }

    async fn user(&self, name: &str) -> Result<Option<UserRecord>, StoreError> {
        people::find(&self.read, name).await
    }

    async fn users(&self) -> Result<Vec<UserRecord>, StoreError> {
        people::all(&self.read).await
    }

    async fn set_user_roles(
        &self,
        name: &str,
        roles: RoleSet,
        audit: &AuditEvent,
    ) -> Result<Revision, StoreError> {
        self.set_user_roles_tx(name, roles, audit).await
    }

    async fn set_user_disabled(
        &self,
        name: &str,
        disabled: bool,
        audit: &AuditEvent,
    ) -> Result<Revision, StoreError> {
        self.set_user_disabled_tx(name, disabled, audit).await
    }

    async fn record_login(
        &self,
        name: &str,
        state: &LoginState,
        session: Option<&Session>,
        audit: &AuditEvent,
    ) -> Result<Revision, StoreError> {
        self.record_login_tx(name, state, session, audit).await
    }

    async fn end_session(
        &self,
        hash: &TokenHash,
        audit: &AuditEvent,
    ) -> Result<Revision, StoreError> {
        self.end_session_tx(hash, audit).await
    }

    async fn revoke_root_tokens(&self, audit: &AuditEvent) -> Result<(Revision, u64), StoreError> {
        self.revoke_root_tokens_tx(audit).await
    }

    async fn create_approval(
        &self,
        approval: &NewApproval,
        audit: &AuditEvent,
    ) -> Result<i64, StoreError> {
        self.create_approval_tx(approval, audit).await
    }

    async fn approval(&self, id: i64) -> Result<Option<ApprovalRecord>, StoreError> {
        approvals::find(&self.read, id).await
    }

    async fn approvals(
        &self,
        pending_only: bool,
        limit: u32,
    ) -> Result<Vec<ApprovalRecord>, StoreError> {
        approvals::list(&self.read, pending_only, limit).await
    }

    async fn vote(
        &self,
        id: i64,
        vote: &Vote,
        audit: &AuditEvent,
    ) -> Result<ApprovalRecord, StoreError> {
        self.vote_tx(id, vote, audit).await
    }

    async fn claim_approval(&self, id: i64, at: Timestamp) -> Result<bool, StoreError> {
        self.claim_approval_tx(id, at).await
    }

    async fn finish_approval(
        &self,
        id: i64,
        result: &str,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        self.finish_approval_tx(id, result, audit).await
    }

    async fn register_zone(&self, zone: &ZoneRecord, audit: &AuditEvent) -> Result<(), StoreError> {
        self.register_zone_tx(zone, audit).await
    }

    async fn zones(&self) -> Result<Vec<ZoneRecord>, StoreError> {
        zones::all(&self.read).await
    }
}
