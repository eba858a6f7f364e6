//! A database of its own for each PostgreSQL test, made through the server at `KMS_TEST_POSTGRES`
//! (default `postgres://postgres@127.0.0.1:5432/test`) and dropped with the guard.
// Shared by several test crates (postgres.rs, lifecycle.rs), each using part of it.
#![allow(dead_code)]

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use kms_engine::clock::SystemClock;
use kms_store::PostgresStore;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{Connection, Executor, Row};

pub const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

pub fn admin_url() -> String {
    std::env::var("KMS_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_URL.to_owned())
}

/// A fresh database `kms_test_<pid>_<n>_<nanos>`, dropped (WITH (FORCE)) when this is dropped, even
/// after a panic.
pub struct TestDb {
    admin: PgConnectOptions,
    admin_url: String,
    pub name: String,
}

impl TestDb {
    pub async fn create() -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let url = admin_url();
        let admin = PgConnectOptions::from_str(&url)
            .unwrap_or_else(|e| panic!("KMS_TEST_POSTGRES={url} is not a PostgreSQL URL: {e}"));
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let name = format!(
            "kms_test_{}_{}_{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let mut conn = PgConnection::connect_with(&admin).await.unwrap_or_else(|e| {
            panic!(
                "cannot connect to PostgreSQL at {url} (set KMS_TEST_POSTGRES to a server where \
                 the tests may create databases): {e}"
            )
        });
        conn.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .await
            .unwrap();
        conn.close().await.unwrap();
        Self {
            admin,
            admin_url: url,
            name,
        }
    }

    /// The database's URL: the admin URL with this database's name (for `kms serve`).
    pub fn url(&self) -> String {
        let (base, query) = match self.admin_url.split_once('?') {
            Some((b, q)) => (b, Some(q)),
            None => (self.admin_url.as_str(), None),
        };
        // scheme://user@host:port, without the database.
        let authority = base.find("://").map_or(0, |i| i + 3);
        let server = match base[authority..].find('/') {
            Some(i) => &base[..authority + i],
            None => base,
        };
        let mut url = format!("{server}/{}", self.name);
        if let Some(q) = query {
            url.push('?');
            url.push_str(q);
        }
        url
    }

    pub fn options(&self) -> PgConnectOptions {
        self.admin.clone().database(&self.name)
    }

    pub async fn open(&self) -> PostgresStore {
        PostgresStore::open_with(self.options(), Arc::new(SystemClock))
            .await
            .unwrap()
    }

    /// Every non-NULL value of every BYTEA column in the database.
    pub async fn bytea_values(&self) -> Vec<Vec<u8>> {
        let mut conn = PgConnection::connect_with(&self.options()).await.unwrap();
        let columns = sqlx::query(
            "SELECT table_name::TEXT AS t, column_name::TEXT AS c FROM information_schema.columns \
             WHERE table_schema = 'public' AND data_type = 'bytea'",
        )
        .fetch_all(&mut conn)
        .await
        .unwrap();
        let mut values = Vec::new();
        for row in &columns {
            let (table, column): (String, String) = (row.get("t"), row.get("c"));
            let found: Vec<Vec<u8>> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT \"{column}\" FROM \"{table}\" WHERE \"{column}\" IS NOT NULL"
            )))
            .fetch_all(&mut conn)
            .await
            .unwrap();
            values.extend(found);
        }
        conn.close().await.unwrap();
        values
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let admin = self.admin.clone();
        let name = self.name.clone();
        // Drop may run inside the test's runtime: drop the database from a thread of its own.
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let mut conn = PgConnection::connect_with(&admin).await?;
                conn.execute(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .await?;
                conn.close().await
            })
        })
        .join();
        if let Ok(Err(e)) | Err(e) = dropped.map_err(|_| sqlx::Error::WorkerCrashed) {
            eprintln!("could not drop test database {}: {e}", self.name);
        }
    }
}
