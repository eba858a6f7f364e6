//! Lifecycle events, rotation notices and webhook deliveries.

use kms_engine::clock::Timestamp;
use kms_engine::ids::{KeyId, KeyVersion};
use kms_engine::store::{Delivery, EventRecord, StoreError};
use sqlx::Row;

use super::{DbRow, Pool, Store, Tx};
use super::errors::db_err;
use crate::rows;

fn event(row: &DbRow) -> Result<EventRecord, StoreError> {
    Ok(EventRecord {
        id: row.get("id"),
        at: rows::ts(row.get("at")),
        kind: row.get("kind"),
        key: row
            .get::<Option<Vec<u8>>, _>("key_id")
            .map(|b| rows::key_id(&b))
            .transpose()?,
        key_name: row.get("key_name"),
        version: row
            .get::<Option<i64>, _>("version")
            .map(rows::version)
            .transpose()?,
        detail: row.get("detail"),
    })
}

async fn insert(tx: &mut Tx, e: &EventRecord, webhooks: &[String]) -> Result<i64, StoreError> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO events (at, kind, key_id, key_name, version, detail) VALUES ($1, $2, $3, $4, $5, $6) \
         RETURNING id",
    )
    .bind(e.at.millis())
    .bind(&e.kind)
    .bind(e.key.map(|k| k.as_bytes().to_vec()))
    .bind(&e.key_name)
    .bind(e.version.map(|v| i64::from(v.get())))
    .bind(&e.detail)
    .fetch_one(&mut **tx)
    .await
    .map_err(db_err)?;
    for url in webhooks {
        sqlx::query(
            "INSERT INTO webhook_deliveries (event_id, url, attempts, next_attempt_at) \
             VALUES ($1, $2, 0, $3)",
        )
        .bind(id)
        .bind(url)
        .bind(e.at.millis())
        .execute(&mut **tx)
        .await
        .map_err(db_err)?;
    }
    Ok(id)
}

pub async fn list(pool: &Pool, after: i64, limit: u32) -> Result<Vec<EventRecord>, StoreError> {
    sqlx::query(
        "SELECT id, at, kind, key_id, key_name, version, detail FROM events WHERE id > $1 \
         ORDER BY id LIMIT $2",
    )
    .bind(after)
    .bind(i64::from(limit.clamp(1, 10_000)))
    .fetch_all(pool)
    .await
    .map_err(db_err)?
    .iter()
    .map(event)
    .collect()
}

pub async fn due(pool: &Pool, now: Timestamp, limit: u32) -> Result<Vec<Delivery>, StoreError> {
    sqlx::query(
        "SELECT e.id, e.at, e.kind, e.key_id, e.key_name, e.version, e.detail, d.url, d.attempts \
         FROM webhook_deliveries d JOIN events e ON e.id = d.event_id \
         WHERE d.delivered_at IS NULL AND d.failed_at IS NULL AND d.next_attempt_at <= $1 \
         ORDER BY d.next_attempt_at, e.id LIMIT $2",
    )
    .bind(now.millis())
    .bind(i64::from(limit.max(1)))
    .fetch_all(pool)
    .await
    .map_err(db_err)?
    .iter()
    .map(|row| {
        Ok(Delivery {
            event: event(row)?,
            url: row.get("url"),
            attempts: u32::try_from(row.get::<i64, _>("attempts")).unwrap_or(u32::MAX),
        })
    })
    .collect()
}

impl Store {
    pub(super) async fn append_event_tx(
        &self,
        e: &EventRecord,
        webhooks: &[String],
    ) -> Result<i64, StoreError> {
        let mut tx = self.begin().await?;
        let id = insert(&mut tx, e, webhooks).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(id)
    }

    pub(super) async fn record_notice_tx(
        &self,
        key: KeyId,
        version: KeyVersion,
        e: &EventRecord,
        webhooks: &[String],
    ) -> Result<Option<i64>, StoreError> {
        let mut tx = self.begin().await?;
        let seen: Option<i64> = sqlx::query_scalar(
            "SELECT event_id FROM rotation_notices WHERE key_id = $1 AND version = $2",
        )
        .bind(key.as_bytes().to_vec())
        .bind(i64::from(version.get()))
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        if seen.is_some() {
            return Ok(None);
        }
        let id = insert(&mut tx, e, webhooks).await?;
        sqlx::query("INSERT INTO rotation_notices (key_id, version, event_id) VALUES ($1, $2, $3)")
            .bind(key.as_bytes().to_vec())
            .bind(i64::from(version.get()))
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(Some(id))
    }

    pub(super) async fn delivery_outcome_tx(
        &self,
        event_id: i64,
        url: &str,
        at: Timestamp,
        outcome: Result<(), (String, Option<Timestamp>)>,
    ) -> Result<(), StoreError> {
        let query = match &outcome {
            Ok(()) => sqlx::query(
                "UPDATE webhook_deliveries SET attempts = attempts + 1, delivered_at = $1, \
                 last_error = NULL WHERE event_id = $2 AND url = $3",
            )
            .bind(at.millis()),
            Err((error, Some(next))) => sqlx::query(
                "UPDATE webhook_deliveries SET attempts = attempts + 1, next_attempt_at = $1, \
                 last_error = $2 WHERE event_id = $3 AND url = $4",
            )
            .bind(next.millis())
            .bind(error.clone()),
            Err((error, None)) => sqlx::query(
                "UPDATE webhook_deliveries SET attempts = attempts + 1, failed_at = $1, \
                 last_error = $2 WHERE event_id = $3 AND url = $4",
            )
            .bind(at.millis())
            .bind(error.clone()),
        };
        query
            .bind(event_id)
            .bind(url)
            .execute(self.writer())
            .await
            .map_err(db_err)?;
        Ok(())
    }
}
