//! Opening the SQLite file, the write lock, the long poll, and the file-level operations the
//! shared code asks of the backend.

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use kms_engine::clock::{Clock, SystemClock};
use kms_engine::store::{Revision, StoreError};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use tokio::sync::watch;

use super::errors::db_err;
use super::private::private_database;
use super::{SqliteStore, Tx, feed};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

impl SqliteStore {
    /// Opens (creating if needed) the database file and brings its schema up to date.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_with_clock(path, Arc::new(SystemClock)).await
    }

    /// As [`open`](Self::open), with the clock that stamps the rows the store writes itself.
    pub async fn open_with_clock(path: &Path, clock: Arc<dyn Clock>) -> Result<Self, StoreError> {
        let private = || private_database(path).map_err(|e| StoreError::Backend(Box::new(e)));
        private()?;
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
        // The -wal and -shm files exist now: make sure older ones are private too.
        private()?;
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
    pub(super) fn reader(&self) -> &SqlitePool {
        &self.read
    }

    /// Where the shared code writes outside `begin`'s transaction (delivery outcomes, seals): the
    /// one-connection write pool, so such writes queue behind the transactions.
    pub(super) fn writer(&self) -> &SqlitePool {
        &self.write
    }

    /// The long poll behind `wait_for_change`.
    pub(super) async fn wait(
        &self,
        after: Revision,
        timeout: Duration,
    ) -> Result<Revision, StoreError> {
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
    pub(super) async fn erase_freed_pages(&self) -> Result<(), StoreError> {
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&self.write)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    /// `kms backup`: `VACUUM INTO` copies the database as one read transaction sees it, into a
    /// new, compacted file (no WAL, no free pages holding old rows).
    pub(super) async fn snapshot_to(&self, to: &Path) -> Result<(), StoreError> {
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
