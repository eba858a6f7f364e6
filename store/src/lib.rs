//! Store backends for the KMS: implementations of [`kms_engine::store::KeyStore`].
//!
//! Owns: the database schema and its migrations, every SQL statement, and the service node's
//! remote store (the internal API's client side). Never depends on: an HTTP framework, the HSM,
//! or the management center; only on the engine's types and trait (and kms-tls for the client's
//! certificates).
//!
//! SQLite is the embedded default: one file in the data directory, WAL journal, `synchronous =
//! FULL` so that a committed key version survives a crash or power loss.
//!
//! PostgreSQL (docs/postgres.md) is for deployments where several KMS processes share one
//! database, or where the database is replicated by PostgreSQL itself.
//!
//! The two backends share their area code: store/src/shared holds each area (apps, keys,
//! approvals, ...) once, and each backend compiles it as its own modules against a few type
//! aliases and hooks for what really differs (docs/architecture.md).
#![forbid(unsafe_code)]

/// Declares, in a backend's module, the area modules of store/src/shared (paths are relative to
/// the backend's directory). Each backend compiles them against its own `Db`, `Pool`, `DbRow`,
/// `QueryResult`, `Tx` and `Store` aliases and its hooks (`begin_read`, `announce`, `db_err`, ...).
macro_rules! shared_modules {
    () => {
        #[path = "../shared/approvals.rs"]
        mod approvals;
        #[path = "../shared/apps.rs"]
        mod apps;
        #[path = "../shared/audit.rs"]
        mod audit;
        #[path = "../shared/certificates.rs"]
        mod certificates;
        #[path = "../shared/commit.rs"]
        mod commit;
        #[path = "../shared/deletion.rs"]
        mod deletion;
        #[path = "../shared/enrolments.rs"]
        mod enrolments;
        #[path = "../shared/errors.rs"]
        mod errors;
        #[path = "../shared/events.rs"]
        mod events;
        #[path = "../shared/feed.rs"]
        mod feed;
        #[path = "../shared/history.rs"]
        mod history;
        #[path = "../shared/key_store.rs"]
        mod key_store;
        #[path = "../shared/keys.rs"]
        mod keys;
        #[path = "../shared/lifecycle.rs"]
        mod lifecycle;
        #[path = "../shared/master_keys.rs"]
        mod master_keys;
        #[path = "../shared/nodes.rs"]
        mod nodes;
        #[path = "../shared/people.rs"]
        mod people;
        #[path = "../shared/policies.rs"]
        mod policies;
        #[path = "../shared/restore.rs"]
        mod restore;
        #[path = "../shared/usage.rs"]
        mod usage;
        #[path = "../shared/zones.rs"]
        mod zones;
    };
}

// Compiling store/src/shared once per backend is the point, not an accident.
#[allow(clippy::duplicate_mod)]
pub mod postgres;
pub mod remote;
mod rows;
pub mod sqlite;

pub use postgres::PostgresStore;
pub use remote::store::RemoteStore;
pub use sqlite::SqliteStore;
