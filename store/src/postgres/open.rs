//! Connecting, migrating, the change-feed listener, the write lock, the long poll, and the
//! database-level operations the shared code asks of the backend.

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use kms_engine::clock::Clock;
use kms_engine::store::{Revision, StoreError};
use sqlx::postgres::{PgConnectOptions, PgListener, PgPool, PgPoolOptions};
use tokio::sync::watch;

use super::commit::advance;
use super::errors::db_err;
use super::hooks::CHANNEL;
use super::{POLL, PostgresStore, Tx, feed};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

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
    pub(super) fn reader(&self) -> &PgPool {
        &self.pool
    }

    /// Writes outside `begin`'s transaction (delivery outcomes, seals) use the same pool.
    pub(super) fn writer(&self) -> &PgPool {
        &self.pool
    }

    /// The long poll behind `wait_for_change`.
    pub(super) async fn wait(
        &self,
        after: Revision,
        timeout: Duration,
    ) -> Result<Revision, StoreError> {
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
    pub(super) async fn erase_freed_pages(&self) -> Result<(), StoreError> {
        if let Err(e) = sqlx::query("VACUUM key_versions").execute(&self.pool).await {
            tracing::warn!(error = %e, "VACUUM after erasing key material failed");
        }
        Ok(())
    }

    /// `kms backup`: a copy of one database as one file is SQLite's form of backup; a PostgreSQL
    /// store is backed up by PostgreSQL (docs/postgres.md).
    pub(super) async fn snapshot_to(&self, _to: &Path) -> Result<(), StoreError> {
        Err(StoreError::Backend(
            "a PostgreSQL store is not backed up by `kms backup`: use PostgreSQL's own tools \
             (pg_basebackup or a streaming standby, or pg_dump for a logical copy)"
                .into(),
        ))
    }
}
