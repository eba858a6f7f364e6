//! The PostgreSQL side of the hooks the shared area code calls.

use kms_engine::store::{Revision, StoreError};
use sqlx::postgres::PgPool;

use super::Tx;
use super::errors::db_err;

/// The channel every commit notifies, with the revision as payload.
pub(super) const CHANNEL: &str = "kms_changes";

/// A read-only transaction that sees one snapshot for all its statements.
pub(super) async fn begin_read(pool: &PgPool) -> Result<Tx, StoreError> {
    pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .await
        .map_err(db_err)
}

/// Called by the change feed in the transaction that advances the revision: the notification is
/// delivered to every listening process when (and only if) the transaction commits.
pub(super) async fn announce(tx: &mut Tx, revision: Revision) -> Result<(), StoreError> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(CHANNEL)
        .bind(revision.to_string())
        .execute(&mut **tx)
        .await
        .map_err(db_err)?;
    Ok(())
}
