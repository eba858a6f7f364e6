//! Store backends for the KMS: implementations of [`kms_engine::store::KeyStore`].
//!
//! SQLite is the embedded default: one file in the data directory, WAL journal, `synchronous =
//! FULL` so that a committed key version survives a crash or power loss.
#![forbid(unsafe_code)]

pub mod sqlite;

pub use sqlite::SqliteStore;
