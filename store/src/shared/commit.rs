//! The end of a write transaction, written once for both backends: commit, then wake this
//! process's waiters.

use kms_engine::audit::AuditEvent;
use kms_engine::clock::Timestamp;
use kms_engine::store::{Change, Revision, StoreError};
use tokio::sync::watch;

use super::errors::db_err;
use super::{Store, Tx, audit, feed};

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
