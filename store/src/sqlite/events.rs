//! Lifecycle events, rotation notices and webhook deliveries.

use kms_engine::clock::Timestamp;
use kms_engine::ids::{KeyId, KeyVersion};
use kms_engine::store::{Delivery, EventRecord, StoreError};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, Sqlite, SqlitePool, Transaction};

use super::{SqliteStore, db_err};
use crate::rows;

fn event(row: &SqliteRow) -> Result<EventRecord, StoreError> {
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

async fn insert(
    tx: &mut Transaction<'static, Sqlite>,
    e: &EventRecord,
    webhooks: &[String],
) -> Result<i64, StoreError> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO events (at, kind, key_id, key_name, version, detail) VALUES (?, ?, ?, ?, ?, ?) \
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
             VALUES (?, ?, 0, ?)",
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

pub async fn list(
    pool: &SqlitePool,
    after: i64,
    limit: u32,
) -> Result<Vec<EventRecord>, StoreError> {
    sqlx::query(
        "SELECT id, at, kind, key_id, key_name, version, detail FROM events WHERE id > ? \
         ORDER BY id LIMIT ?",
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

pub async fn due(
    pool: &SqlitePool,
    now: Timestamp,
    limit: u32,
) -> Result<Vec<Delivery>, StoreError> {
    sqlx::query(
        "SELECT e.id, e.at, e.kind, e.key_id, e.key_name, e.version, e.detail, d.url, d.attempts \
         FROM webhook_deliveries d JOIN events e ON e.id = d.event_id \
         WHERE d.delivered_at IS NULL AND d.failed_at IS NULL AND d.next_attempt_at <= ? \
         ORDER BY d.next_attempt_at, e.id LIMIT ?",
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

impl SqliteStore {
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
            "SELECT event_id FROM rotation_notices WHERE key_id = ? AND version = ?",
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
        sqlx::query("INSERT INTO rotation_notices (key_id, version, event_id) VALUES (?, ?, ?)")
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
                "UPDATE webhook_deliveries SET attempts = attempts + 1, delivered_at = ?, \
                 last_error = NULL WHERE event_id = ? AND url = ?",
            )
            .bind(at.millis()),
            Err((error, Some(next))) => sqlx::query(
                "UPDATE webhook_deliveries SET attempts = attempts + 1, next_attempt_at = ?, \
                 last_error = ? WHERE event_id = ? AND url = ?",
            )
            .bind(next.millis())
            .bind(error.clone()),
            Err((error, None)) => sqlx::query(
                "UPDATE webhook_deliveries SET attempts = attempts + 1, failed_at = ?, \
                 last_error = ? WHERE event_id = ? AND url = ?",
            )
            .bind(at.millis())
            .bind(error.clone()),
        };
        query
            .bind(event_id)
            .bind(url)
            .execute(&self.write)
            .await
            .map_err(db_err)?;
        Ok(())
    }
}
