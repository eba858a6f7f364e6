//! Store backends for the KMS: implementations of [`kms_engine::store::KeyStore`].
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

// Compiling store/src/shared once per backend is the point, not an accident.
#[allow(clippy::duplicate_mod)]
pub mod postgres;
mod rows;
pub mod sqlite;

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;
