//! Store backends for the KMS: implementations of [`kms_engine::store::KeyStore`].
//!
//! SQLite is the embedded default: one file in the data directory, WAL journal, `synchronous =
//! FULL` so that a committed key version survives a crash or power loss.
//!
//! PostgreSQL (docs/postgres.md) is for deployments where several KMS processes share one
//! database, or where the database is replicated by PostgreSQL itself.
#![forbid(unsafe_code)]

pub mod postgres;
mod rows;
pub mod sqlite;

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;
