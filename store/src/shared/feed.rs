//! The change feed: the revision counter and the `changes` table. The long poll
//! (`wait_for_change`) is the backend's own.

use kms_engine::clock::Timestamp;
use kms_engine::store::{Change, Revision, StoreError};
use sqlx::Row;

use super::{Pool, Tx};
use super::errors::db_err;
use crate::rows::{self, corrupt};

const KIND_KEY: i64 = 1;
const KIND_CREDENTIALS: i64 = 2;

pub async fn current_revision(pool: &Pool) -> Result<Revision, StoreError> {
    let r: i64 = sqlx::query_scalar("SELECT revision FROM store_meta WHERE id = 1")
        .fetch_one(pool)
        .await
        .map_err(db_err)?;
    rows::revision(r)
}

/// Records `change` in the open transaction and returns the revision it will commit as.
pub async fn record(tx: &mut Tx, change: Change, at: Timestamp) -> Result<Revision, StoreError> {
    let revision: i64 = sqlx::query_scalar(
        "UPDATE store_meta SET revision = revision + 1 WHERE id = 1 RETURNING revision",
    )
    .fetch_one(&mut **tx)
    .await
    .map_err(db_err)?;
    let (kind, key) = match change {
        Change::Key(id) => (KIND_KEY, Some(id.as_bytes().to_vec())),
        Change::Credentials => (KIND_CREDENTIALS, None),
    };
    sqlx::query("INSERT INTO changes (revision, kind, key_id, at) VALUES ($1, $2, $3, $4)")
        .bind(revision)
        .bind(kind)
        .bind(key)
        .bind(at.millis())
        .execute(&mut **tx)
        .await
        .map_err(db_err)?;
    let revision = rows::revision(revision)?;
    super::hooks::announce(tx, revision).await?;
    Ok(revision)
}

pub async fn changes_since(
    pool: &Pool,
    after: Revision,
    limit: u32,
) -> Result<Vec<(Revision, Change)>, StoreError> {
    let found = sqlx::query(
        "SELECT revision, kind, key_id FROM changes WHERE revision > $1 ORDER BY revision LIMIT $2",
    )
    .bind(rows::to_i64(after))
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await
    .map_err(db_err)?;
    found
        .iter()
        .map(|row| {
            let revision = rows::revision(row.get("revision"))?;
            let change = match row.get::<i64, _>("kind") {
                KIND_KEY => {
                    let id: Vec<u8> = row
                        .get::<Option<Vec<u8>>, _>("key_id")
                        .ok_or_else(|| corrupt("key change without a key id"))?;
                    Change::Key(rows::key_id(&id)?)
                }
                KIND_CREDENTIALS => Change::Credentials,
                other => return Err(corrupt(format!("unknown change kind {other}"))),
            };
            Ok((revision, change))
        })
        .collect()
}
