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
mod hooks;
mod open;

use std::sync::Arc;
use std::time::Duration;

use kms_engine::clock::Clock;
use kms_engine::store::Revision;
use sqlx::postgres::{PgPool, PgQueryResult, PgRow};
use sqlx::{Postgres, Transaction};
use tokio::sync::watch;
use tokio::task::AbortHandle;

type Db = Postgres;
type Pool = PgPool;
type DbRow = PgRow;
type QueryResult = PgQueryResult;
type Tx = Transaction<'static, Postgres>;
type Store = PostgresStore;

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

impl Drop for PostgresStore {
    fn drop(&mut self) {
        self.listener.abort();
    }
}
