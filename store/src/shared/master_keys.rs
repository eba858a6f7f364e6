//! Master-key records and rotation jobs.

use std::collections::BTreeSet;

use kms_engine::algorithm::Algorithm;
use kms_engine::audit::AuditEvent;
use kms_engine::clock::Timestamp;
use kms_engine::ids::MasterKeyId;
use kms_engine::master_key::{
    Kcv, MasterKeyOrigin, MasterKeyRecord, MasterKeyState, RotationJob, RotationState,
};
use kms_engine::store::{Change, Revision, StoreError};
use kms_engine::token::TokenHash;
use kms_engine::wrap::{WrapContext, WrappedKey};
use sqlx::Row;

use super::{DbRow, Pool, Store, Tx, apps, audit, feed};
use super::errors::{db_err, is_unique_violation};
use crate::rows::{self, corrupt};

fn record(row: &DbRow) -> Result<MasterKeyRecord, StoreError> {
    Ok(MasterKeyRecord {
        id: MasterKeyId::new(row.get("id")).map_err(corrupt)?,
        kcv: Kcv::parse(row.get("kcv")).map_err(corrupt)?,
        origin: MasterKeyOrigin::from_code(row.get("origin")).map_err(corrupt)?,
        state: MasterKeyState::from_code(row.get("state")).map_err(corrupt)?,
        created_at: rows::ts(row.get("created_at")),
        updated_at: rows::ts(row.get("updated_at")),
    })
}

fn job(row: &DbRow) -> Result<RotationJob, StoreError> {
    Ok(RotationJob {
        id: row.get("id"),
        from: MasterKeyId::new(row.get("from_key")).map_err(corrupt)?,
        to: MasterKeyId::new(row.get("to_key")).map_err(corrupt)?,
        state: RotationState::from_code(row.get("state")).map_err(corrupt)?,
        rewrapped: u64::try_from(row.get::<i64, _>("rewrapped"))
            .map_err(|_| corrupt("negative rewrap count"))?,
        started_at: rows::ts(row.get("started_at")),
        updated_at: rows::ts(row.get("updated_at")),
    })
}

const JOB_COLUMNS: &str = "SELECT id, from_key, to_key, state, rewrapped, started_at, updated_at \
     FROM mk_rotations";

pub async fn all(pool: &Pool) -> Result<Vec<MasterKeyRecord>, StoreError> {
    sqlx::query(
        "SELECT id, kcv, origin, state, created_at, updated_at FROM master_keys \
         ORDER BY created_at, id",
    )
    .fetch_all(pool)
    .await
    .map_err(db_err)?
    .iter()
    .map(record)
    .collect()
}

pub async fn unfinished(pool: &Pool) -> Result<Vec<RotationJob>, StoreError> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "{JOB_COLUMNS} WHERE state <> 3 ORDER BY id"
    )))
    .fetch_all(pool)
    .await
    .map_err(db_err)?
    .iter()
    .map(job)
    .collect()
}

pub async fn rotation(pool: &Pool, id: i64) -> Result<Option<RotationJob>, StoreError> {
    sqlx::query(sqlx::AssertSqlSafe(format!("{JOB_COLUMNS} WHERE id = $1")))
        .bind(id)
        .fetch_optional(pool)
        .await
        .map_err(db_err)?
        .as_ref()
        .map(job)
        .transpose()
}

pub async fn wrapped_under(
    pool: &Pool,
    master_key: &MasterKeyId,
    limit: u32,
) -> Result<Vec<(WrapContext, WrappedKey)>, StoreError> {
    sqlx::query(
        "SELECT v.key_id, v.version, k.algorithm, v.wrapped FROM key_versions v \
         JOIN keys k ON k.id = v.key_id WHERE v.master_key_id = $1 \
         ORDER BY v.key_id, v.version LIMIT $2",
    )
    .bind(master_key.as_str())
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await
    .map_err(db_err)?
    .iter()
    .map(|row| {
        Ok((
            WrapContext {
                key: rows::key_id(&row.get::<Vec<u8>, _>("key_id"))?,
                version: rows::version(row.get("version"))?,
                algorithm: Algorithm::from_code(row.get("algorithm")).map_err(corrupt)?,
            },
            WrappedKey {
                master_key: master_key.clone(),
                blob: row.get("wrapped"),
            },
        ))
    })
    .collect()
}

async fn insert_key(tx: &mut Tx, key: &MasterKeyRecord) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO master_keys (id, kcv, origin, state, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(key.id.as_str())
    .bind(key.kcv.as_str())
    .bind(i64::from(key.origin.code()))
    .bind(i64::from(MasterKeyState::Active.code()))
    .bind(key.created_at.millis())
    .bind(key.created_at.millis())
    .execute(&mut **tx)
    .await
    .map_err(|e| {
        if is_unique_violation(&e) {
            StoreError::AlreadyExists("master key")
        } else {
            db_err(e)
        }
    })?;
    Ok(())
}

async fn set_state(
    tx: &mut Tx,
    id: &MasterKeyId,
    state: MasterKeyState,
    at: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE master_keys SET state = $1, updated_at = $2 WHERE id = $3")
        .bind(i64::from(state.code()))
        .bind(at.millis())
        .bind(id.as_str())
        .execute(&mut **tx)
        .await
        .map_err(db_err)?;
    Ok(())
}

async fn versions_under(tx: &mut Tx, id: &MasterKeyId) -> Result<i64, StoreError> {
    sqlx::query_scalar("SELECT COUNT(*) FROM key_versions WHERE master_key_id = $1")
        .bind(id.as_str())
        .fetch_one(&mut **tx)
        .await
        .map_err(db_err)
}

impl Store {
    pub(super) async fn initialize_master_key_tx(
        &self,
        key: &MasterKeyRecord,
        root_label: &str,
        root_token: &TokenHash,
        audit_event: &AuditEvent,
    ) -> Result<Revision, StoreError> {
        let mut tx = self.begin().await?;
        insert_key(&mut tx, key).await?;
        apps::insert_root_token(&mut tx, root_label, root_token, key.created_at).await?;
        self.commit_change(tx, audit_event, Change::Credentials, key.created_at)
            .await
    }

    pub(super) async fn begin_rotation_tx(
        &self,
        new: &MasterKeyRecord,
        audit_event: &AuditEvent,
    ) -> Result<RotationJob, StoreError> {
        let mut tx = self.begin().await?;
        let at = new.created_at;
        let running: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM mk_rotations WHERE state = 1")
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
        if running > 0 {
            return Err(StoreError::Conflict(
                "a master-key rotation is already running",
            ));
        }
        let old: Option<String> = sqlx::query_scalar("SELECT id FROM master_keys WHERE state = 1")
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?;
        let old = MasterKeyId::new(&old.ok_or(StoreError::NotFound("active master key"))?)
            .map_err(corrupt)?;
        set_state(&mut tx, &old, MasterKeyState::Retiring, at).await?;
        insert_key(&mut tx, new).await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO mk_rotations (from_key, to_key, state, rewrapped, started_at, updated_at) \
             VALUES ($1, $2, 1, 0, $3, $4) RETURNING id",
        )
        .bind(old.as_str())
        .bind(new.id.as_str())
        .bind(at.millis())
        .bind(at.millis())
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
        audit::append(&mut tx, audit_event).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(RotationJob {
            id,
            from: old,
            to: new.id.clone(),
            state: RotationState::Running,
            rewrapped: 0,
            started_at: at,
            updated_at: at,
        })
    }

    async fn job_in(tx: &mut Tx, id: i64) -> Result<RotationJob, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("{JOB_COLUMNS} WHERE id = $1")))
            .bind(id)
            .fetch_optional(&mut **tx)
            .await
            .map_err(db_err)?
            .ok_or(StoreError::NotFound("rotation job"))?;
        job(&row)
    }

    pub(super) async fn store_rewrapped_tx(
        &self,
        job_id: i64,
        rewrapped: &[(WrapContext, WrappedKey)],
    ) -> Result<Revision, StoreError> {
        let mut tx = self.begin().await?;
        let job = Self::job_in(&mut tx, job_id).await?;
        if job.state != RotationState::Running {
            return Err(StoreError::Conflict("rotation job is not running"));
        }
        let at = self.now();
        let mut changed = BTreeSet::new();
        let mut count = 0i64;
        for (ctx, wrapped) in rewrapped {
            if wrapped.master_key != job.to {
                return Err(StoreError::Conflict("rewrapped under the wrong master key"));
            }
            // Only rows still under the old key: a batch replayed after a crash changes nothing.
            let done = sqlx::query(
                "UPDATE key_versions SET wrapped = $1, master_key_id = $2, updated_at = $3 \
                 WHERE key_id = $4 AND version = $5 AND master_key_id = $6",
            )
            .bind(wrapped.blob.clone())
            .bind(job.to.as_str())
            .bind(at.millis())
            .bind(ctx.key.as_bytes().to_vec())
            .bind(i64::from(ctx.version.get()))
            .bind(job.from.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            if done.rows_affected() > 0 {
                count += 1;
                changed.insert(ctx.key);
            }
        }
        sqlx::query(
            "UPDATE mk_rotations SET rewrapped = rewrapped + $1, updated_at = $2 WHERE id = $3",
        )
        .bind(count)
        .bind(at.millis())
        .bind(job_id)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        let mut revision = 0;
        for key in changed {
            revision = feed::record(&mut tx, Change::Key(key), at).await?;
        }
        if revision == 0 {
            tx.commit().await.map_err(db_err)?;
            return feed::current_revision(self.reader()).await;
        }
        self.commit(tx, revision).await
    }

    pub(super) async fn finish_rewrap_tx(&self, job_id: i64) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let job = Self::job_in(&mut tx, job_id).await?;
        match job.state {
            RotationState::Running => {}
            RotationState::Rewrapped | RotationState::Done => return Ok(()),
        }
        if versions_under(&mut tx, &job.from).await? > 0 {
            return Err(StoreError::Conflict(
                "versions remain under the old master key",
            ));
        }
        sqlx::query("UPDATE mk_rotations SET state = 2, updated_at = $1 WHERE id = $2")
            .bind(self.now().millis())
            .bind(job_id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)
    }

    pub(super) async fn complete_rotation_tx(
        &self,
        job_id: i64,
        audit_event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let job = Self::job_in(&mut tx, job_id).await?;
        match job.state {
            RotationState::Rewrapped => {}
            RotationState::Done => return Ok(()),
            RotationState::Running => {
                return Err(StoreError::Conflict("the rewrap has not finished"));
            }
        }
        let at = audit_event.at;
        set_state(&mut tx, &job.from, MasterKeyState::Destroyed, at).await?;
        sqlx::query("UPDATE mk_rotations SET state = 3, updated_at = $1 WHERE id = $2")
            .bind(at.millis())
            .bind(job_id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        audit::append(&mut tx, audit_event).await?;
        tx.commit().await.map_err(db_err)
    }

    pub(super) async fn destroy_master_key_tx(
        &self,
        id: &MasterKeyId,
        audit_event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let state: Option<i64> = sqlx::query_scalar("SELECT state FROM master_keys WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?;
        match state
            .map(MasterKeyState::from_code)
            .transpose()
            .map_err(corrupt)?
        {
            None => return Err(StoreError::NotFound("master key")),
            Some(MasterKeyState::Active) => {
                return Err(StoreError::Conflict(
                    "the active master key cannot be destroyed",
                ));
            }
            Some(_) => {}
        }
        if versions_under(&mut tx, id).await? > 0 {
            return Err(StoreError::Conflict(
                "working keys are still wrapped under it",
            ));
        }
        set_state(&mut tx, id, MasterKeyState::Destroyed, audit_event.at).await?;
        audit::append(&mut tx, audit_event).await?;
        tx.commit().await.map_err(db_err)
    }
}
