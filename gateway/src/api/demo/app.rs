//! The demo application's own state: its password key's name, the token it calls the KMS with,
//! and its user database.

use std::path::Path;

use kms_engine::secret::SecretString;
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};

pub struct Demo {
    /// The password key's name.
    pub(super) key: String,
    /// The token the demo backend calls the KMS with.
    pub(super) token: SecretString,
    pub(super) users: SqlitePool,
}

impl Demo {
    /// Opens (or creates) the demo application's user database in `data_dir`.
    pub async fn open(
        data_dir: &Path,
        key: String,
        token: SecretString,
    ) -> Result<Self, sqlx::Error> {
        let path = data_dir.join("demo-app.db");
        kms_store::sqlite::private::private_database(&path)?;
        let options = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal);
        let users = SqlitePool::connect_with(options).await?;
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS users (username TEXT PRIMARY KEY, salt BLOB NOT NULL, \
             protected TEXT NOT NULL)",
        )
        .execute(&users)
        .await?;
        Ok(Self { key, token, users })
    }
}
