//! Restoring a key from a Vault Transit backup (control/src/keys/transit_restore.rs checks the
//! backup's tag and rewraps its material under the active master key first). One transaction:
//! the key's row under its own id (a new row, a deleted key's row undeleted, or, with `force`,
//! the live key's row), its versions replaced by the backup's, a history entry per version and
//! one for the restore, and a change-feed entry, so the key serves again before the call returns.

use kms_engine::audit::AuditEvent;
use kms_engine::store::{Change, KeyRestore, Revision, StoreError};

use super::Store;
use super::errors::{db_err, unique_err};
use super::history::{Event, record_event};
use super::keys::{KeyQuery, bind_settings, require_active_master_key};
use crate::rows;

/// `sql` (an insert or an update of the `keys` row) with the restored key's row bound: name,
/// algorithm, min_decryption_version, created_at, updated_at (the restore's time), its settings
/// (`bind_settings`), then the id as the seventeenth parameter.
fn key_row<'q>(sql: &'static str, r: &'q KeyRestore) -> KeyQuery<'q> {
    let row = sqlx::query(sql)
        .bind(r.name.as_str())
        .bind(i64::from(r.algorithm.code()))
        .bind(i64::from(r.min_decryption_version.get()))
        .bind(r.created_at.millis())
        .bind(r.at.millis());
    bind_settings(row, &r.settings).bind(r.id.as_bytes().to_vec())
}

impl Store {
    pub(super) async fn restore_key_tx(
        &self,
        r: &KeyRestore,
        audit_event: &AuditEvent,
    ) -> Result<Revision, StoreError> {
        let mut tx = self.begin().await?;
        let id = r.id.as_bytes().to_vec();
        // The name must be free, or held by this very key.
        let holder: Option<Vec<u8>> =
            sqlx::query_scalar("SELECT id FROM keys WHERE name = $1 AND deleted_at IS NULL")
                .bind(r.name.as_str())
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_err)?;
        if let Some(holder) = holder
            && rows::key_id(&holder)? != r.id
        {
            return Err(StoreError::AlreadyExists("key"));
        }
        let row: Option<(String, Option<i64>)> =
            sqlx::query_as("SELECT name, deleted_at FROM keys WHERE id = $1")
                .bind(id.clone())
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_err)?;
        match row {
            // Live: only with `force` (Vault's), which replaces its versions; never renamed.
            Some((name, None)) if !r.force || name != r.name.as_str() => {
                return Err(StoreError::AlreadyExists("key"));
            }
            Some((_, deleted)) => {
                // Over the live key, a backup older than the key would drop versions whose
                // ciphertexts then never decrypt again, and whose numbers a later rotation would
                // reuse with other material (the crypto workers cache by key id and version).
                let newest = r.versions.iter().map(|v| v.version.get()).max().unwrap_or(0);
                let latest: Option<i64> =
                    sqlx::query_scalar("SELECT MAX(version) FROM key_versions WHERE key_id = $1")
                        .bind(id.clone())
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(db_err)?;
                if deleted.is_none() && latest.unwrap_or(0) > i64::from(newest) {
                    return Err(StoreError::Conflict(
                        "the key has versions the backup does not hold",
                    ));
                }
                key_row(
                    "UPDATE keys SET name = $1, algorithm = $2, min_decryption_version = $3, \
                     created_at = $4, updated_at = $5, deterministic = $6, \
                     rotation_period_ms = $7, notice_period_ms = $8, exportable = $9, \
                     purpose = $10, deletion_allowed = $11, derived = $12, convergent = $13, \
                     imported = $14, min_encryption_version = $15, allow_plaintext_backup = $16, \
                     deleted_at = NULL WHERE id = $17",
                    r,
                )
                .execute(&mut *tx)
                .await
                .map_err(unique_err(StoreError::AlreadyExists("key")))?;
                sqlx::query("DELETE FROM key_versions WHERE key_id = $1")
                    .bind(id.clone())
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
            }
            None => {
                key_row(
                    "INSERT INTO keys (name, algorithm, min_decryption_version, created_at, \
                     updated_at, deterministic, rotation_period_ms, notice_period_ms, \
                     exportable, purpose, deletion_allowed, derived, convergent, imported, \
                     min_encryption_version, allow_plaintext_backup, id) VALUES ($1, $2, $3, \
                     $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
                    r,
                )
                .execute(&mut *tx)
                .await
                .map_err(unique_err(StoreError::AlreadyExists("key")))?;
            }
        }
        for v in &r.versions {
            if let Some(wrapped) = &v.wrapped {
                require_active_master_key(&mut tx, wrapped).await?;
            }
            sqlx::query(
                "INSERT INTO key_versions (key_id, version, state, master_key_id, wrapped, \
                 created_at, updated_at, destroy_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(id.clone())
            .bind(i64::from(v.version.get()))
            .bind(i64::from(v.state.code()))
            .bind(v.wrapped.as_ref().map(|w| w.master_key.as_str().to_owned()))
            .bind(v.wrapped.as_ref().map(|w| w.blob.clone()))
            .bind(v.created_at.millis())
            .bind(v.updated_at.millis())
            .bind(v.destroy_at.map(|t| t.millis()))
            .execute(&mut *tx)
            .await
            .map_err(unique_err(StoreError::Conflict("key versions")))?;
            record_event(
                &mut tx,
                Event {
                    key: r.id,
                    version: Some(v.version),
                    action: "restore",
                    from: None,
                    to: Some(v.state),
                    actor: &r.actor,
                    reason: Some(&r.reason),
                    at: r.at,
                },
            )
            .await?;
        }
        record_event(
            &mut tx,
            Event {
                key: r.id,
                version: None,
                action: "restore",
                from: None,
                to: None,
                actor: &r.actor,
                reason: Some(&r.reason),
                at: r.at,
            },
        )
        .await?;
        self.commit_change(tx, audit_event, Change::Key(r.id), r.at)
            .await
    }
}
