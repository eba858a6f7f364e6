//! Data-plane use: the totals per key, version, caller, operation and minute (`usage`), and the
//! series per key, version, operation and hour (`usage_hourly`), written together and kept for
//! [`USAGE_SERIES_RETENTION_MS`].

use kms_engine::algorithm::Operation;
use kms_engine::clock::Timestamp;
use kms_engine::ids::KeyId;
use kms_engine::pool::UsageRecord;
use kms_engine::store::{StoreError, USAGE_SERIES_RETENTION_MS, UsageBucket, UsageSummary};
use sqlx::Row;

use super::errors::db_err;
use super::{Pool, Store, Tx};
use crate::rows::{self, corrupt};

const HOUR_MS: i64 = 3_600_000;

pub async fn summary(pool: &Pool, key: KeyId) -> Result<Vec<UsageSummary>, StoreError> {
    sqlx::query(
        "SELECT version, principal, operation, CAST(SUM(count) AS BIGINT) AS count, MAX(last_used_at) AS last \
         FROM usage WHERE key_id = $1 GROUP BY version, principal, operation \
         ORDER BY version, principal, operation",
    )
    .bind(key.as_bytes().to_vec())
    .fetch_all(pool)
    .await
    .map_err(db_err)?
    .iter()
    .map(|row| {
        Ok(UsageSummary {
            version: rows::version(row.get("version"))?,
            principal: row.get("principal"),
            operation: Operation::from_code(row.get("operation")).map_err(corrupt)?,
            count: count(row.get("count"))?,
            last_used: rows::ts(row.get("last")),
        })
    })
    .collect()
}

/// The hours that start in `[since, until)`, by hour, version and operation.
pub async fn series(
    pool: &Pool,
    key: KeyId,
    since: Timestamp,
    until: Timestamp,
) -> Result<Vec<UsageBucket>, StoreError> {
    // The first hour starting at or after each bound.
    let first_hour = |t: Timestamp| t.millis().div_euclid(HOUR_MS) + i64::from(t.millis().rem_euclid(HOUR_MS) != 0);
    sqlx::query(
        "SELECT hour, version, operation, count FROM usage_hourly \
         WHERE key_id = $1 AND hour >= $2 AND hour < $3 ORDER BY hour, version, operation",
    )
    .bind(key.as_bytes().to_vec())
    .bind(first_hour(since))
    .bind(first_hour(until))
    .fetch_all(pool)
    .await
    .map_err(db_err)?
    .iter()
    .map(|row| {
        Ok(UsageBucket {
            version: rows::version(row.get("version"))?,
            operation: Operation::from_code(row.get("operation")).map_err(corrupt)?,
            hour: rows::ts(row.get::<i64, _>("hour").saturating_mul(HOUR_MS)),
            count: count(row.get("count"))?,
        })
    })
    .collect()
}

fn count(n: i64) -> Result<u64, StoreError> {
    u64::try_from(n).map_err(|_| corrupt("negative count"))
}

/// No such key. (A key deleted between use and flush keeps its rows: its last uses count.)
fn usage_err(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(d) if d.is_foreign_key_violation() => StoreError::NotFound("key"),
        _ => db_err(e),
    }
}

/// Adds one record to its hour of the series.
async fn add_to_series(tx: &mut Tx, u: &UsageRecord) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO usage_hourly (key_id, hour, version, operation, count) \
         VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (key_id, hour, version, operation) DO UPDATE SET \
         count = usage_hourly.count + excluded.count",
    )
    .bind(u.key.as_bytes().to_vec())
    .bind(u.last_used.millis().div_euclid(HOUR_MS))
    .bind(i64::from(u.version.get()))
    .bind(i64::from(u.operation.code()))
    .bind(i64::try_from(u.count).unwrap_or(i64::MAX))
    .execute(&mut **tx)
    .await
    .map_err(usage_err)?;
    Ok(())
}

impl Store {
    /// Adds the records to the totals and to the series, and deletes the hours of the series that
    /// ended more than the retention before the store's clock, in one transaction.
    pub(super) async fn record_usage_tx(&self, usage: &[UsageRecord]) -> Result<(), StoreError> {
        if usage.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin().await?;
        for u in usage {
            let minute = u.last_used.millis().div_euclid(60_000);
            sqlx::query(concat!(
                "INSERT INTO usage (key_id, version, principal, operation, minute, count, last_used_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (key_id, version, principal, operation, minute) DO UPDATE SET \
                 count = usage.count + excluded.count, \
                 last_used_at = ",
                greatest!(),
                "(usage.last_used_at, excluded.last_used_at)"
            ))
            .bind(u.key.as_bytes().to_vec())
            .bind(i64::from(u.version.get()))
            .bind(u.principal.as_ref())
            .bind(i64::from(u.operation.code()))
            .bind(minute)
            .bind(i64::try_from(u.count).unwrap_or(i64::MAX))
            .bind(u.last_used.millis())
            .execute(&mut *tx)
            .await
            .map_err(usage_err)?;
            add_to_series(&mut tx, u).await?;
        }
        let cutoff = self
            .now()
            .millis()
            .saturating_sub(USAGE_SERIES_RETENTION_MS)
            .div_euclid(HOUR_MS);
        sqlx::query("DELETE FROM usage_hourly WHERE hour < $1")
            .bind(cutoff)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)
    }
}
