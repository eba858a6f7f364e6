//! Helpers every area module uses, written once for both backends: driver error mapping, and
//! the end of a write transaction (commit, then wake this process's waiters).

use kms_engine::audit::AuditEvent;
use kms_engine::clock::Timestamp;
use kms_engine::store::{Change, Revision, StoreError};
use tokio::sync::watch;

use super::{Store, Tx, audit, feed, unavailable_state};

/// Maps a driver error. Connection-level failures mean the store is unavailable (and so do the
/// database error codes the backend's `unavailable_state` names); the rest are query failures.
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

/// Raises the revision waiters see, never lowers it.
pub(crate) fn advance(notify: &watch::Sender<Revision>, revision: Revision) {
    notify.send_if_modified(|r| {
        let newer = revision > *r;
        if newer {
            *r = revision;
        }
        newer
    });
}

impl Store {
    /// Commits and tells this process's waiters about the new revision (on PostgreSQL, other
    /// processes learn it from the notification the transaction sent).
    pub(crate) async fn commit(&self, tx: Tx, revision: Revision) -> Result<Revision, StoreError> {
        tx.commit().await.map_err(db_err)?;
        advance(&self.notify, revision);
        Ok(revision)
    }

    /// Ends a write transaction the usual way: its audit record, its change-feed entry, commit.
    pub(crate) async fn commit_change(
        &self,
        mut tx: Tx,
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
}
