//! Deleting a key (Vault Transit's `DELETE keys/:name`, for a key whose `deletion_allowed` is
//! set): one transaction destroys every version as a destruction does, removes the grants and the
//! usage policy, and marks the row deleted, which frees the name (a partial unique index) while the
//! history, usage and audit records keep pointing at it.

use kms_engine::audit::AuditEvent;
use kms_engine::store::{Change, KeyDeletion, Revision, StoreError};
use kms_engine::version::VersionState;
use sqlx::Row;

use super::history::{Event, record_event};
use super::Store;
use super::errors::db_err;
use crate::rows::{self, corrupt};

impl Store {
    pub(super) async fn delete_key_tx(
        &self,
        d: &KeyDeletion,
        audit_event: &AuditEvent,
    ) -> Result<Revision, StoreError> {
        let destroyed = i64::from(VersionState::Destroyed.code());
        let mut tx = self.begin().await?;
        let key = d.key.as_bytes().to_vec();
        let allowed: Option<i64> = sqlx::query_scalar(
            "SELECT deletion_allowed FROM keys WHERE id = $1 AND deleted_at IS NULL",
        )
        .bind(key.clone())
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        match allowed {
            None => return Err(StoreError::NotFound("key")),
            Some(0) => return Err(StoreError::Conflict("deletion is not allowed for this key")),
            Some(_) => {}
        }
        let versions = sqlx::query(
            "SELECT version, state FROM key_versions WHERE key_id = $1 AND state != $2 \
             ORDER BY version",
        )
        .bind(key.clone())
        .bind(destroyed)
        .fetch_all(&mut *tx)
        .await
        .map_err(db_err)?;
        // The material is NULL from this commit on; the backend's `erase_freed_pages` after the
        // commit clears the old copies (SQLite: checkpoint; PostgreSQL: VACUUM).
        sqlx::query(
            "UPDATE key_versions SET state = $1, wrapped = NULL, master_key_id = NULL, \
             destroy_at = NULL, updated_at = $2 WHERE key_id = $3 AND state != $4",
        )
        .bind(destroyed)
        .bind(d.at.millis())
        .bind(key.clone())
        .bind(destroyed)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        // Each version's destruction, then the key's deletion, in its history.
        let entry = |version, from, to| Event {
            key: d.key,
            version,
            action: "delete",
            from,
            to,
            actor: &d.actor,
            reason: Some(&d.reason),
            at: d.at,
        };
        for row in &versions {
            let version = rows::version(row.get("version"))?;
            let from = VersionState::from_code(row.get("state")).map_err(corrupt)?;
            record_event(
                &mut tx,
                entry(Some(version), Some(from), Some(VersionState::Destroyed)),
            )
            .await?;
        }
        for table in ["grants", "key_policies"] {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM {table} WHERE key_id = $1"
            )))
            .bind(key.clone())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        sqlx::query("UPDATE keys SET deleted_at = $1, updated_at = $2 WHERE id = $3")
            .bind(d.at.millis())
            .bind(d.at.millis())
            .bind(key)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        record_event(&mut tx, entry(None, None, None)).await?;
        let revision = self
            .commit_change(tx, audit_event, Change::Key(d.key), d.at)
            .await?;
        self.erase_freed_pages().await?;
        Ok(revision)
    }
}
