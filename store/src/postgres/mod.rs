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
//!
//! The area modules (apps, keys, approvals, ...) and the `KeyStore` impl are shared with the
//! SQLite backend: they live in store/src/shared and are compiled here against the aliases and
//! hooks below (docs/architecture.md).

// What the shared code (store/src/shared) is compiled against in this backend. Defined before
// the modules so that the macros are in scope there.
/// The tie-breaker column for "in insertion order": an identity column (`seq`), since PostgreSQL
/// has no `rowid`.
macro_rules! insertion_order {
    () => {
        "seq"
    };
}
/// The scalar function for the larger of two values.
macro_rules! greatest {
    () => {
        "GREATEST"
    };
}

shared_modules!();

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use kms_engine::clock::Clock;
use kms_engine::store::{Revision, StoreError};
use sqlx::postgres::{PgConnectOptions, PgListener, PgPool, PgPoolOptions, PgQueryResult, PgRow};
use sqlx::{Postgres, Transaction};
use tokio::sync::watch;
use tokio::task::AbortHandle;

use common::advance;
pub(crate) use common::{db_err, is_unique_violation, unique_err};

type Db = Postgres;
type Pool = PgPool;
type DbRow = PgRow;
type QueryResult = PgQueryResult;
type Tx = Transaction<'static, Postgres>;
type Store = PostgresStore;

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

/// A read-only transaction that sees one snapshot for all its statements.
async fn begin_read(pool: &PgPool) -> Result<Tx, StoreError> {
    pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .await
        .map_err(db_err)
}

/// Called by the change feed in the transaction that advances the revision: the notification is
/// delivered to every listening process when (and only if) the transaction commits.
async fn announce(tx: &mut Tx, revision: Revision) -> Result<(), StoreError> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(CHANNEL)
        .bind(revision.to_string())
        .execute(&mut **tx)
        .await
        .map_err(db_err)?;
    Ok(())
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
    pub(crate) async fn begin(&self) -> Result<Tx, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        sqlx::query("SELECT id FROM store_meta WHERE id = 1 FOR UPDATE")
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        Ok(tx)
    }

    /// Stops the listener and closes every connection: later calls fail with
    /// [`StoreError::Unavailable`].
    pub async fn close(&self) {
        self.listener.abort();
        self.pool.close().await;
    }

    /// One pool serves reads and writes: PostgreSQL needs no separate read-only pool.
    fn reader(&self) -> &PgPool {
        &self.pool
    }

    /// Writes outside `begin`'s transaction (delivery outcomes, seals) use the same pool.
    fn writer(&self) -> &PgPool {
        &self.pool
    }

    /// The long poll behind `wait_for_change`.
    async fn wait(&self, after: Revision, timeout: Duration) -> Result<Revision, StoreError> {
        let mut rx = self.notify.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let now = feed::current_revision(&self.pool).await?;
            advance(&self.notify, now);
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if now > after || left.is_zero() {
                return Ok(now);
            }
            // Woken by a commit here or a notification from another process; at the latest after
            // a poll interval, in case a notification was lost.
            let _ = tokio::time::timeout(left.min(self.poll), rx.wait_for(|r| *r > after)).await;
        }
    }

    /// After material is erased: the rows hold NULL at once, but PostgreSQL keeps the old row
    /// versions until VACUUM reclaims them (docs/postgres.md). Vacuuming the table now shortens
    /// that window; it is best effort (another transaction's snapshot can keep old versions alive,
    /// and the WAL and any base backups still hold them until they are recycled).
    async fn erase_freed_pages(&self) -> Result<(), StoreError> {
        if let Err(e) = sqlx::query("VACUUM key_versions").execute(&self.pool).await {
            tracing::warn!(error = %e, "VACUUM after erasing key material failed");
        }
        Ok(())
    }

    /// `kms backup`: a copy of one database as one file is SQLite's form of backup; a PostgreSQL
    /// store is backed up by PostgreSQL (docs/postgres.md).
    async fn snapshot_to(&self, _to: &Path) -> Result<(), StoreError> {
        Err(StoreError::Backend(
            "a PostgreSQL store is not backed up by `kms backup`: use PostgreSQL's own tools \
             (pg_basebackup or a streaming standby, or pg_dump for a logical copy)"
                .into(),
        ))
    }
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        self.listener.abort();
    }
}
