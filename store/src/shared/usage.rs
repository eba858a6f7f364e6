//! Data-plane use per key, version, caller, operation and minute.

use kms_engine::algorithm::Operation;
use kms_engine::ids::KeyId;
use kms_engine::pool::UsageRecord;
use kms_engine::store::{StoreError, UsageSummary};
use sqlx::Row;

use super::{Pool, Store};
use super::errors::db_err;
use crate::rows::{self, corrupt};

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
            count: u64::try_from(row.get::<i64, _>("count"))
                .map_err(|_| corrupt("negative count"))?,
            last_used: rows::ts(row.get("last")),
        })
    })
    .collect()
}

impl Store {
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
            .map_err(|e| match &e {
                // No such key. (A key deleted between use and flush keeps its row: its last uses count.)
                sqlx::Error::Database(d) if d.is_foreign_key_violation() => {
                    StoreError::NotFound("key")
                }
                _ => db_err(e),
            })?;
        }
        tx.commit().await.map_err(db_err)
    }
}
