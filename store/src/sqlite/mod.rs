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
mod hooks;
mod open;
pub mod private;

use std::sync::Arc;

use kms_engine::clock::Clock;
use kms_engine::store::Revision;
use sqlx::sqlite::{SqlitePool, SqliteQueryResult, SqliteRow};
use sqlx::{Sqlite, Transaction};
use tokio::sync::watch;

type Db = Sqlite;
type Pool = SqlitePool;
type DbRow = SqliteRow;
type QueryResult = SqliteQueryResult;
type Tx = Transaction<'static, Sqlite>;
type Store = SqliteStore;

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
