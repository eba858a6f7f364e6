//! The PostgreSQL backend (docs/postgres.md).
//!
//! Several KMS processes may share one database. Every write transaction first locks the one row
//! of `store_meta` (`SELECT ... FOR UPDATE`), which serialises writers across processes as
//! SQLite's `BEGIN IMMEDIATE` does within one file: the revision counter and the audit chain's
//! head are read and advanced under that lock, so revision N+1 never commits before N, and the
//! chain has no forks. Statements after the lock run in READ COMMITTED and so see every commit
//! made before it, which keeps the conditional updates (approval claims, TOTP steps, session ends,
//! rotations against the latest version) as they are in SQLite.
//!
//! Each change-feed entry also sends `NOTIFY kms_changes, '<revision>'` inside its transaction
//! (delivered on commit, to every process). A listener task per store turns notifications into
//! wake-ups of `wait_for_change`; waiters also poll the revision, so a lost notification (the
//! listener reconnecting) delays a wake-up by at most the poll interval ([`POLL`] unless set with
//! [`PostgresStore::with_poll_interval`]).

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

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use kms_engine::audit::{AuditEvent, AuditRecord};
use kms_engine::clock::{Clock, Timestamp};
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
    Rollback, Rotation, StoreError, TokenRotation, UsageSummary, VersionChange,
};
use kms_engine::token::TokenHash;
use kms_engine::wrap::{WrapContext, WrappedKey};
use sqlx::postgres::{PgConnectOptions, PgListener, PgPool, PgPoolOptions};
use sqlx::{Postgres, Transaction};
use tokio::sync::watch;
use tokio::task::AbortHandle;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The channel every commit notifies, with the revision as payload.
const CHANNEL: &str = "kms_changes";

/// How long a waiter trusts notifications alone before it reads the revision again (default), and
/// how long the listener waits before it reconnects.
pub const POLL: Duration = Duration::from_secs(1);

pub struct PostgresStore {
    pool: PgPool,
    notify: Arc<watch::Sender<Revision>>,
    listener: AbortHandle,
    clock: Arc<dyn Clock>,
    poll: Duration,
}

/// SQLSTATEs that mean the server cannot serve us now (rather than that the query is wrong):
/// connection exceptions (class 08), shutdown and crash recovery (57P01..57P03), too many
/// connections (53300), a read-only server such as a standby not promoted yet (25006).
fn unavailable_state(code: &str) -> bool {
    code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "53300" | "25006")
}

/// Maps a driver error as the SQLite backend does: connection-level failures mean the store is
/// unavailable, the rest are query failures.
pub(crate) fn db_err(e: sqlx::Error) -> StoreError {
    match e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => StoreError::Unavailable(Box::new(e)),
        sqlx::Error::Database(ref d) if d.code().is_some_and(|c| unavailable_state(&c)) => {
            StoreError::Unavailable(Box::new(e))
        }
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

/// A read-only transaction that sees one snapshot for all its statements.
pub(crate) async fn begin_snapshot(
    pool: &PgPool,
) -> Result<Transaction<'static, Postgres>, StoreError> {
    pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .await
        .map_err(db_err)
}

/// Raises the revision waiters see, never lowers it.
fn advance(notify: &watch::Sender<Revision>, revision: Revision) {
    notify.send_if_modified(|r| {
        let newer = revision > *r;
        if newer {
            *r = revision;
        }
        newer
    });
}

/// Follows `kms_changes` until the pool closes, reconnecting after errors.
async fn listen(pool: PgPool, notify: Arc<watch::Sender<Revision>>) {
    loop {
        let mut listener = match PgListener::connect_with(&pool).await {
            Ok(l) => l,
            Err(sqlx::Error::PoolClosed) => return,
            Err(e) => {
                tracing::warn!(error = %e, "change-feed listener: cannot connect; retrying");
                tokio::time::sleep(POLL).await;
                continue;
            }
        };
        if let Err(e) = listener.listen(CHANNEL).await {
            if matches!(e, sqlx::Error::PoolClosed) {
                return;
            }
            tracing::warn!(error = %e, "change-feed listener: LISTEN failed; retrying");
            tokio::time::sleep(POLL).await;
            continue;
        }
        // Listening from here on; what committed while the listener was away is in the revision.
        if let Ok(r) = feed::current_revision(&pool).await {
            advance(&notify, r);
        }
        loop {
            match listener.try_recv().await {
                Ok(Some(n)) => match n.payload().parse::<Revision>() {
                    Ok(r) => advance(&notify, r),
                    Err(_) => {
                        tracing::warn!(payload = n.payload(), "change-feed listener: bad payload")
                    }
                },
                // The connection was lost and made again: what was notified meanwhile is gone,
                // so read the revision instead.
                Ok(None) => {
                    if let Ok(r) = feed::current_revision(&pool).await {
                        advance(&notify, r);
                    }
                }
                Err(sqlx::Error::PoolClosed) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "change-feed listener failed; reconnecting");
                    tokio::time::sleep(POLL).await;
                    break;
                }
            }
        }
    }
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://user@host:port/db`) and brings its schema up
    /// to date. `clock` stamps the rows the store writes itself.
    pub async fn open(url: &str, clock: Arc<dyn Clock>) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url).map_err(db_err)?;
        Self::open_with(options, clock).await
    }

    /// As [`open`](Self::open), with connect options already parsed.
    pub async fn open_with(
        options: PgConnectOptions,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            // One of them is held by the change-feed listener.
            .max_connections(10)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .map_err(db_err)?;
        // sqlx takes an advisory lock for the run: processes starting together migrate once.
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| StoreError::Backend(Box::new(e)))?;
        let revision = feed::current_revision(&pool).await?;
        let notify = Arc::new(watch::Sender::new(revision));
        let listener = tokio::spawn(listen(pool.clone(), Arc::clone(&notify))).abort_handle();
        Ok(Self {
            pool,
            notify,
            listener,
            clock,
            poll: POLL,
        })
    }

    /// How often `wait_for_change` reads the revision while no notification comes (tests set it
    /// to tell a notification's wake-up from a poll's).
    pub fn with_poll_interval(mut self, poll: Duration) -> Self {
        self.poll = poll;
        self
    }

    /// Begins a write transaction: takes the store-wide write lock (the `store_meta` row) first.
    pub(crate) async fn begin(&self) -> Result<Transaction<'static, Postgres>, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        sqlx::query("SELECT id FROM store_meta WHERE id = 1 FOR UPDATE")
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        Ok(tx)
    }

    /// Commits and tells this process's waiters about the new revision (other processes learn
    /// it from the notification the transaction sent).
    pub(crate) async fn commit(
        &self,
        tx: Transaction<'static, Postgres>,
        revision: Revision,
    ) -> Result<Revision, StoreError> {
        tx.commit().await.map_err(db_err)?;
        advance(&self.notify, revision);
        Ok(revision)
    }

    /// Ends a write transaction the usual way: its audit record, its change-feed entry, commit.
    pub(crate) async fn commit_change(
        &self,
        mut tx: Transaction<'static, Postgres>,
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

    /// Stops the listener and closes every connection: later calls fail with
    /// [`StoreError::Unavailable`].
    pub async fn close(&self) {
        self.listener.abort();
        self.pool.close().await;
    }
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

#[async_trait]
impl KeyStore for PostgresStore {
    async fn close(&self) {
        PostgresStore::close(self).await;
    }

    async fn revision(&self) -> Result<Revision, StoreError> {
        feed::current_revision(&self.pool).await
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
        feed::changes_since(&self.pool, after, limit).await
    }

    async fn load_keys(&self) -> Result<Vec<KeyEntry>, StoreError> {
        keys::load(&self.pool, None).await
    }

    async fn load_key(&self, id: KeyId) -> Result<Option<KeyEntry>, StoreError> {
        Ok(keys::load(&self.pool, Some(id)).await?.pop())
    }

    async fn load_credentials(&self) -> Result<Vec<Credential>, StoreError> {
        let mut credentials = apps::credentials(&self.pool, self.now()).await?;
        credentials.extend(people::session_credentials(&self.pool).await?);
        Ok(credentials)
    }

    async fn load_certificates(&self) -> Result<Vec<CertificateCredential>, StoreError> {
        certificates::load(&self.pool).await
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
        apps::find(&self.pool, name).await
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
        keys::id_by_name(&self.pool, name).await
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
        keys::history(&self.pool, key).await
    }

    async fn list_apps(&self, only: Option<&AppName>) -> Result<Vec<AppTokens>, StoreError> {
        apps::list(&self.pool, only).await
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
        events::list(&self.pool, after, limit).await
    }

    async fn due_deliveries(
        &self,
        now: Timestamp,
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError> {
        events::due(&self.pool, now, limit).await
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
        usage::summary(&self.pool, key).await
    }

    async fn master_keys(&self) -> Result<Vec<MasterKeyRecord>, StoreError> {
        master_keys::all(&self.pool).await
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
        master_keys::unfinished(&self.pool).await
    }

    async fn rotation(&self, id: i64) -> Result<Option<RotationJob>, StoreError> {
        master_keys::rotation(&self.pool, id).await
    }

    async fn versions_wrapped_under(
        &self,
        master_key: &MasterKeyId,
        limit: u32,
    ) -> Result<Vec<(WrapContext, WrappedKey)>, StoreError> {
        master_keys::wrapped_under(&self.pool, master_key, limit).await
    }

    async fn count_wrapped_under(&self, master_key: &MasterKeyId) -> Result<u64, StoreError> {
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM key_versions WHERE master_key_id = $1")
                .bind(master_key.as_str())
                .fetch_one(&self.pool)
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
        audit::query(&self.pool, query).await
    }

    async fn audit_head(&self) -> Result<(u64, [u8; 32]), StoreError> {
        audit::head(&self.pool).await
    }

    async fn snapshot(&self, _to: &Path) -> Result<(), StoreError> {
        // A copy of one database as one file is SQLite's form of backup; a PostgreSQL store is
        // backed up by PostgreSQL (docs/postgres.md).
        Err(StoreError::Backend(
            "a PostgreSQL store is not backed up by `kms backup`: use PostgreSQL's own tools \
             (pg_basebackup or a streaming standby, or pg_dump for a logical copy)"
                .into(),
        ))
    }

    async fn append_audit_seal(&self, seal: &AuditSeal) -> Result<(), StoreError> {
        audit::add_seal(&self.pool, seal).await
    }

    async fn audit_seals(&self) -> Result<Vec<AuditSeal>, StoreError> {
        audit::seals(&self.pool, false).await
    }

    async fn last_audit_seal(&self) -> Result<Option<AuditSeal>, StoreError> {
        Ok(audit::seals(&self.pool, true).await?.pop())
    }

    async fn create_user(&self, user: &UserRecord, audit: &AuditEvent) -> Result<(), StoreError> {
        self.create_user_tx(user, audit).await
    }

    async fn user(&self, name: &str) -> Result<Option<UserRecord>, StoreError> {
        people::find(&self.pool, name).await
    }

    async fn users(&self) -> Result<Vec<UserRecord>, StoreError> {
        people::all(&self.pool).await
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
        approvals::find(&self.pool, id).await
    }

    async fn approvals(
        &self,
        pending_only: bool,
        limit: u32,
    ) -> Result<Vec<ApprovalRecord>, StoreError> {
        approvals::list(&self.pool, pending_only, limit).await
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
}
