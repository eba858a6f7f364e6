//! The SQLite side of the hooks the shared area code calls.

use kms_engine::store::{Revision, StoreError};
use sqlx::sqlite::SqlitePool;

use super::Tx;
use super::errors::db_err;

/// A read transaction for multi-statement reads: SQLite's read transaction already sees one
/// snapshot of the file.
pub(super) async fn begin_read(pool: &SqlitePool) -> Result<Tx, StoreError> {
    pool.begin().await.map_err(db_err)
}

/// Called by the change feed in the transaction that advances the revision: nothing to do here,
/// since waiters in other processes poll the file.
pub(super) async fn announce(_tx: &mut Tx, _revision: Revision) -> Result<(), StoreError> {
    Ok(())
}
