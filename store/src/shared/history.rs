//! A key's history: the event rows every change writes, and the key's own change stamp.

use kms_engine::clock::Timestamp;
use kms_engine::ids::{KeyId, KeyVersion};
use kms_engine::store::StoreError;
use kms_engine::version::VersionState;

use super::Tx;
use super::errors::db_err;

pub(super) struct Event<'a> {
    pub key: KeyId,
    pub version: Option<KeyVersion>,
    pub action: &'a str,
    pub from: Option<VersionState>,
    pub to: Option<VersionState>,
    pub actor: &'a str,
    pub reason: Option<&'a str>,
    pub at: Timestamp,
}

pub(super) async fn record_event(tx: &mut Tx, e: Event<'_>) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO key_events (key_id, version, action, from_state, to_state, actor, reason, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(e.key.as_bytes().to_vec())
    .bind(e.version.map(|v| i64::from(v.get())))
    .bind(e.action)
    .bind(e.from.map(|s| i64::from(s.code())))
    .bind(e.to.map(|s| i64::from(s.code())))
    .bind(e.actor)
    .bind(e.reason)
    .bind(e.at.millis())
    .execute(&mut **tx)
    .await
    .map_err(db_err)?;
    Ok(())
}

/// Marks the key changed at `at`; `NotFound("key")` for a missing or deleted key, so no change
/// reaches a deleted key.
pub(super) async fn touch_key(tx: &mut Tx, key: KeyId, at: Timestamp) -> Result<(), StoreError> {
    let done = sqlx::query("UPDATE keys SET updated_at = $1 WHERE id = $2 AND deleted_at IS NULL")
        .bind(at.millis())
        .bind(key.as_bytes().to_vec())
        .execute(&mut **tx)
        .await
        .map_err(db_err)?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound("key"));
    }
    Ok(())
}
