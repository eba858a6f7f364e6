//! The SQLite backend.
//!
//! Writes go through a pool of one connection and `BEGIN IMMEDIATE`, so writers queue in process
//! instead of failing with SQLITE_BUSY; reads use a separate pool. After each commit the new
//! revision is broadcast to in-process waiters (the key-sync actor's long poll); waiters also poll
//! the file, so a second process writing the same file is seen too.
//!
//! The area modules (apps, keys, approvals, ...) and the `KeyStore` impl are shared with the
//! PostgreSQL backend: they live in store/src/shared and are compiled here against the aliases
//! and hooks below (docs/architecture.md).

// What the shared code (store/src/shared) is compiled against in this backend. Defined before
// the modules so that the macros are in scope there.
/// The tie-breaker column for "in insertion order": SQLite's implicit `rowid`.
macro_rules! insertion_order {
    () => {
        "rowid"
    };
}
/// The scalar function for the larger of two values.
macro_rules! greatest {
    () => {
        "MAX"
    };
}

shared_modules!();

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use kms_engine::clock::{Clock, SystemClock};
use kms_engine::store::{Revision, StoreError};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteQueryResult,
    SqliteRow, SqliteSynchronous,
};
use sqlx::{Sqlite, Transaction};
use tokio::sync::watch;

pub(crate) use common::{db_err, is_unique_violation, unique_err};

type Db = Sqlite;
type Pool = SqlitePool;
type DbRow = SqliteRow;
type QueryResult = SqliteQueryResult;
type Tx = Transaction<'static, Sqlite>;
type Store = SqliteStore;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

pub struct SqliteStore {
    read: SqlitePool,
    write: SqlitePool,
    notify: watch::Sender<Revision>,
    clock: Arc<dyn Clock>,
}

/// No SQLite result code counts as "unavailable" in [`db_err`]: a busy file is waited on
/// (`busy_timeout`), and a lost file shows up as an I/O error.
fn unavailable_state(_code: &str) -> bool {
    false
}

/// A read transaction for multi-statement reads: SQLite's read transaction already sees one
/// snapshot of the file.
async fn begin_read(pool: &SqlitePool) -> Result<Tx, StoreError> {
    pool.begin().await.map_err(db_err)
}

/// Called by the change feed in the transaction that advances the revision: nothing to do here,
/// since waiters in other processes poll the file.
async fn announce(_tx: &mut Tx, _revision: Revision) -> Result<(), StoreError> {
    Ok(())
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

    pub(crate) async fn begin(&self) -> Result<Tx, StoreError> {
        self.write
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db_err)
    }

    pub async fn close(&self) {
        self.write.close().await;
        self.read.close().await;
    }

    /// Where the shared code reads outside a write transaction: the read-only pool.
    fn reader(&self) -> &SqlitePool {
        &self.read
    }

    /// Where the shared code writes outside `begin`'s transaction (delivery outcomes, seals): the
    /// one-connection write pool, so such writes queue behind the transactions.
    fn writer(&self) -> &SqlitePool {
        &self.write
    }

    /// The long poll behind `wait_for_change`.
    async fn wait(&self, after: Revision, timeout: Duration) -> Result<Revision, StoreError> {
        let mut rx = self.notify.subscribe();
        let now = feed::current_revision(&self.read).await?;
        if now > after {
            return Ok(now);
        }
        // Woken by a commit in this process, or at the timeout to look for other writers.
        let _ = tokio::time::timeout(timeout, rx.wait_for(|r| *r > after)).await;
        feed::current_revision(&self.read).await
    }

    /// After material is erased: `secure_delete` has zeroed the freed cells in the pages; the
    /// checkpoint moves those pages into the main file and truncates the WAL, so no copy of the
    /// old page stays on disk.
    async fn erase_freed_pages(&self) -> Result<(), StoreError> {
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&self.write)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    /// `kms backup`: `VACUUM INTO` copies the database as one read transaction sees it, into a
    /// new, compacted file (no WAL, no free pages holding old rows).
    async fn snapshot_to(&self, to: &Path) -> Result<(), StoreError> {
        let to = to
            .to_str()
            .ok_or_else(|| StoreError::Corrupt("the snapshot path is not UTF-8".into()))?;
        sqlx::query("VACUUM INTO $1")
            .bind(to)
            .execute(&self.read)
            .await
            .map_err(db_err)?;
        Ok(())
    }
}
