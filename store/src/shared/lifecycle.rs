//! The version lifecycle: disable, enable, schedule and cancel destruction, roll back, configure,
//! and destroy when due. Each change is one transaction with its history entry, audit record and
//! change-feed entry.

use kms_engine::audit::AuditEvent;
use kms_engine::clock::Timestamp;
use kms_engine::ids::{KeyId, KeyVersion};
use kms_engine::store::{
    Change, KeyConfig, Revision, Rollback, StoreError, VersionAction, VersionChange,
};
use kms_engine::version::VersionState;
use sqlx::Row;

use super::history::{Event, record_event, touch_key};
use super::{Store, Tx, feed};
use super::errors::db_err;
use crate::rows::{self, corrupt};

fn code(state: VersionState) -> i64 {
    i64::from(state.code())
}

async fn state_of(
    tx: &mut Tx,
    key: KeyId,
    version: KeyVersion,
) -> Result<VersionState, StoreError> {
    let state: Option<i64> =
        sqlx::query_scalar("SELECT state FROM key_versions WHERE key_id = $1 AND version = $2")
            .bind(key.as_bytes().to_vec())
            .bind(i64::from(version.get()))
            .fetch_optional(&mut **tx)
            .await
            .map_err(db_err)?;
    VersionState::from_code(state.ok_or(StoreError::NotFound("key version"))?).map_err(corrupt)
}

async fn set_state(
    tx: &mut Tx,
    key: KeyId,
    version: KeyVersion,
    state: VersionState,
    destroy_at: Option<Timestamp>,
    at: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE key_versions SET state = $1, destroy_at = $2, updated_at = $3 \
         WHERE key_id = $4 AND version = $5",
    )
    .bind(code(state))
    .bind(destroy_at.map(Timestamp::millis))
    .bind(at.millis())
    .bind(key.as_bytes().to_vec())
    .bind(i64::from(version.get()))
    .execute(&mut **tx)
    .await
    .map_err(db_err)?;
    Ok(())
}

impl Store {
    pub(super) async fn change_version_tx(
        &self,
        c: &VersionChange,
        audit_event: &AuditEvent,
    ) -> Result<Revision, StoreError> {
        use VersionState::*;
        let mut tx = self.begin().await?;
        touch_key(&mut tx, c.key, c.at).await?;
        let from = state_of(&mut tx, c.key, c.version).await?;
        let (to, destroy_at) = match (c.action, from) {
            (VersionAction::Disable, DecryptOnly) => (Disabled, None),
            (VersionAction::Enable, Disabled) => (DecryptOnly, None),
            (VersionAction::ScheduleDestruction { destroy_at }, DecryptOnly | Disabled) => {
                (ScheduledForDestruction, Some(destroy_at))
            }
            (VersionAction::CancelDestruction, ScheduledForDestruction) => (Disabled, None),
            (_, Active) => {
                return Err(StoreError::Conflict(
                    "the active version: rotate or roll back first",
                ));
            }
            (_, Destroyed) => return Err(StoreError::Conflict("the version is destroyed")),
            _ => {
                return Err(StoreError::Conflict(
                    "the version is not in a state for that",
                ));
            }
        };
        set_state(&mut tx, c.key, c.version, to, destroy_at, c.at).await?;
        let reason = match destroy_at {
            Some(t) => format!("{} (destroy at {t})", c.reason),
            None => c.reason.clone(),
        };
        record_event(
            &mut tx,
            Event {
                key: c.key,
                version: Some(c.version),
                action: c.action.name(),
                from: Some(from),
                to: Some(to),
                actor: &c.actor,
                reason: Some(&reason),
                at: c.at,
            },
        )
        .await?;
        self.commit_change(tx, audit_event, Change::Key(c.key), c.at)
            .await
    }

    pub(super) async fn rollback_tx(
        &self,
        r: &Rollback,
        audit_event: &AuditEvent,
    ) -> Result<Revision, StoreError> {
        let mut tx = self.begin().await?;
        touch_key(&mut tx, r.key, r.at).await?;
        let key = r.key.as_bytes().to_vec();
        let active: i64 =
            sqlx::query_scalar("SELECT version FROM key_versions WHERE key_id = $1 AND state = $2")
                .bind(key.clone())
                .bind(code(VersionState::Active))
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_err)?
                .ok_or_else(|| corrupt("a key without an active version"))?;
        let min: i64 = sqlx::query_scalar("SELECT min_decryption_version FROM keys WHERE id = $1")
            .bind(key.clone())
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
        let previous: Option<i64> = sqlx::query_scalar(
            "SELECT MAX(version) FROM key_versions WHERE key_id = $1 AND version < $2 \
             AND version >= $3 AND state = $4",
        )
        .bind(key.clone())
        .bind(active)
        .bind(min)
        .bind(code(VersionState::DecryptOnly))
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
        let previous = previous.ok_or(StoreError::Conflict(
            "no earlier decrypt-only version to roll back to",
        ))?;
        let (active, previous) = (rows::version(active)?, rows::version(previous)?);
        // Demote first: at most one active version at any moment (a unique index says so).
        set_state(
            &mut tx,
            r.key,
            active,
            VersionState::DecryptOnly,
            None,
            r.at,
        )
        .await?;
        set_state(&mut tx, r.key, previous, VersionState::Active, None, r.at).await?;
        for (version, from, to) in [
            (active, VersionState::Active, VersionState::DecryptOnly),
            (previous, VersionState::DecryptOnly, VersionState::Active),
        ] {
            record_event(
                &mut tx,
                Event {
                    key: r.key,
                    version: Some(version),
                    action: "rollback",
                    from: Some(from),
                    to: Some(to),
                    actor: &r.actor,
                    reason: Some(&r.reason),
                    at: r.at,
                },
            )
            .await?;
        }
        self.commit_change(tx, audit_event, Change::Key(r.key), r.at)
            .await
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) async fn configure_tx(
        &self,
        key: KeyId,
        config: &KeyConfig,
        at: Timestamp,
        actor: &str,
        reason: &str,
        audit_event: &AuditEvent,
    ) -> Result<Revision, StoreError> {
        let mut tx = self.begin().await?;
        touch_key(&mut tx, key, at).await?;
        let id = key.as_bytes().to_vec();
        let mut changed = Vec::new();
        if let Some(min) = config.min_decryption_version {
            let active: i64 = sqlx::query_scalar(
                "SELECT version FROM key_versions WHERE key_id = $1 AND state = $2",
            )
            .bind(id.clone())
            .bind(code(VersionState::Active))
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
            if i64::from(min.get()) > active {
                return Err(StoreError::Conflict(
                    "min_decryption_version cannot be above the active version",
                ));
            }
            sqlx::query("UPDATE keys SET min_decryption_version = $1 WHERE id = $2")
                .bind(i64::from(min.get()))
                .bind(id.clone())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            changed.push(format!("min_decryption_version={min}"));
        }
        if let Some(period) = config.rotation_period_ms {
            sqlx::query("UPDATE keys SET rotation_period_ms = $1 WHERE id = $2")
                .bind(period)
                .bind(id.clone())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            changed.push(format!(
                "rotation_period_ms={}",
                period.map_or("none".into(), |p| p.to_string())
            ));
        }
        if let Some(notice) = config.notice_period_ms {
            sqlx::query("UPDATE keys SET notice_period_ms = $1 WHERE id = $2")
                .bind(notice)
                .bind(id.clone())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            changed.push(format!("notice_period_ms={notice}"));
        }
        if let Some(allowed) = config.deletion_allowed {
            sqlx::query("UPDATE keys SET deletion_allowed = $1 WHERE id = $2")
                .bind(i64::from(allowed))
                .bind(id.clone())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            changed.push(format!("deletion_allowed={allowed}"));
        }
        if let Some(min) = config.min_encryption_version {
            let latest: i64 =
                sqlx::query_scalar("SELECT MAX(version) FROM key_versions WHERE key_id = $1")
                    .bind(id.clone())
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db_err)?;
            if i64::from(min) > latest {
                return Err(StoreError::Conflict(
                    "min_encryption_version cannot be above the latest version",
                ));
            }
            sqlx::query("UPDATE keys SET min_encryption_version = $1 WHERE id = $2")
                .bind(i64::from(min))
                .bind(id.clone())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            changed.push(format!("min_encryption_version={min}"));
        }
        if let Some(exportable) = config.exportable {
            // Once exportable, always exportable (as in Vault): turning it off is refused.
            let was: i64 = sqlx::query_scalar("SELECT exportable FROM keys WHERE id = $1")
                .bind(id.clone())
                .fetch_one(&mut *tx)
                .await
                .map_err(db_err)?;
            if was != 0 && !exportable {
                return Err(StoreError::Conflict(
                    "an exportable key cannot be made not exportable",
                ));
            }
            sqlx::query("UPDATE keys SET exportable = $1 WHERE id = $2")
                .bind(i64::from(exportable))
                .bind(id.clone())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            changed.push(format!("exportable={exportable}"));
        }
        if let Some(allow) = config.allow_plaintext_backup {
            // As `exportable`: once allowed, always allowed (as in Vault).
            let was: i64 =
                sqlx::query_scalar("SELECT allow_plaintext_backup FROM keys WHERE id = $1")
                    .bind(id.clone())
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db_err)?;
            if was != 0 && !allow {
                return Err(StoreError::Conflict(
                    "allow_plaintext_backup cannot be turned off once set",
                ));
            }
            sqlx::query("UPDATE keys SET allow_plaintext_backup = $1 WHERE id = $2")
                .bind(i64::from(allow))
                .bind(id.clone())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            changed.push(format!("allow_plaintext_backup={allow}"));
        }
        let reason = format!("{reason} ({})", changed.join(", "));
        record_event(
            &mut tx,
            Event {
                key,
                version: None,
                action: "configure",
                from: None,
                to: None,
                actor,
                reason: Some(&reason),
                at,
            },
        )
        .await?;
        self.commit_change(tx, audit_event, Change::Key(key), at)
            .await
    }

    pub(super) async fn destroy_due_tx(
        &self,
        now: Timestamp,
    ) -> Result<Vec<(KeyId, KeyVersion)>, StoreError> {
        let due = sqlx::query(
            "SELECT key_id, version FROM key_versions WHERE state = $1 AND destroy_at <= $2",
        )
        .bind(code(VersionState::ScheduledForDestruction))
        .bind(now.millis())
        .fetch_all(self.reader())
        .await
        .map_err(db_err)?;
        let mut destroyed = Vec::new();
        for row in &due {
            let key = rows::key_id(&row.get::<Vec<u8>, _>("key_id"))?;
            let version = rows::version(row.get("version"))?;
            let mut tx = self.begin().await?;
            // Still scheduled (a cancellation may have come in between).
            if state_of(&mut tx, key, version).await? != VersionState::ScheduledForDestruction {
                continue;
            }
            sqlx::query(
                "UPDATE key_versions SET state = $1, wrapped = NULL, master_key_id = NULL, \
                 destroy_at = NULL, updated_at = $2 WHERE key_id = $3 AND version = $4",
            )
            .bind(code(VersionState::Destroyed))
            .bind(now.millis())
            .bind(key.as_bytes().to_vec())
            .bind(i64::from(version.get()))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            record_event(
                &mut tx,
                Event {
                    key,
                    version: Some(version),
                    action: "destroy",
                    from: Some(VersionState::ScheduledForDestruction),
                    to: Some(VersionState::Destroyed),
                    actor: "scheduler",
                    reason: Some("the destruction waiting period ended"),
                    at: now,
                },
            )
            .await?;
            let revision = feed::record(&mut tx, Change::Key(key), now).await?;
            self.commit(tx, revision).await?;
            destroyed.push((key, version));
        }
        if !destroyed.is_empty() {
            self.erase_freed_pages().await?;
        }
        Ok(destroyed)
    }
}
