//! Keys, versions, grants and key history.

use std::collections::HashMap;

use kms_engine::algorithm::{Algorithm, Operation, OperationSet};
use kms_engine::audit::AuditEvent;
use kms_engine::clock::Timestamp;
use kms_engine::ids::{AppId, KeyId, KeyName, KeyVersion, MasterKeyId};
use kms_engine::keyring::{KeyEntry, KeySettings, Purpose, VersionEntry};
use kms_engine::master_key::MasterKeyState;
use kms_engine::policy::UsagePolicy;
use kms_engine::store::{Change, Grant, KeyEvent, NewKey, Revision, Rotation, StoreError};
use kms_engine::version::VersionState;
use kms_engine::wrap::WrappedKey;
use sqlx::Row;

use super::history::{Event, record_event, touch_key};
use super::policies::{POLICIES_ALL, POLICIES_ONE};
use super::{Db, DbRow, Pool, Store, Tx};
use super::errors::{db_err, unique_err};
use crate::rows::{self, corrupt};

/// Deleted keys (`deleted_at` set) are not loaded: to the directory they no longer exist.
const KEYS_ALL: &str = "SELECT id, name, algorithm, min_decryption_version, created_at, \
     deterministic, rotation_period_ms, notice_period_ms, exportable, purpose, deletion_allowed, \
     derived, convergent, imported, min_encryption_version, allow_plaintext_backup FROM keys \
     WHERE deleted_at IS NULL";
const KEYS_ONE: &str = "SELECT id, name, algorithm, min_decryption_version, created_at, \
     deterministic, rotation_period_ms, notice_period_ms, exportable, purpose, deletion_allowed, \
     derived, convergent, imported, min_encryption_version, allow_plaintext_backup FROM keys \
     WHERE deleted_at IS NULL AND id = $1";
const VERSIONS_ALL: &str = "SELECT key_id, version, state, master_key_id, wrapped, created_at, \
     updated_at, destroy_at FROM key_versions \
     WHERE key_id IN (SELECT id FROM keys WHERE deleted_at IS NULL)";
const VERSIONS_ONE: &str = "SELECT key_id, version, state, master_key_id, wrapped, created_at, \
     updated_at, destroy_at FROM key_versions WHERE key_id = $1";
const GRANTS_ALL: &str = "SELECT key_id, app_id, operation FROM grants";
const GRANTS_ONE: &str = "SELECT key_id, app_id, operation FROM grants WHERE key_id = $1";

fn version_entry(row: &DbRow) -> Result<(KeyId, VersionEntry), StoreError> {
    let key = rows::key_id(&row.get::<Vec<u8>, _>("key_id"))?;
    let state = VersionState::from_code(row.get("state")).map_err(corrupt)?;
    let wrapped = match (
        row.get::<Option<String>, _>("master_key_id"),
        row.get::<Option<Vec<u8>>, _>("wrapped"),
    ) {
        (Some(mk), Some(blob)) => Some(WrappedKey {
            master_key: MasterKeyId::new(&mk).map_err(corrupt)?,
            blob,
        }),
        (None, None) => None,
        _ => return Err(corrupt("wrapped key without its master key id")),
    };
    Ok((
        key,
        VersionEntry {
            version: rows::version(row.get("version"))?,
            state,
            wrapped,
            created_at: rows::ts(row.get("created_at")),
            updated_at: rows::ts(row.get("updated_at")),
            destroy_at: row.get::<Option<i64>, _>("destroy_at").map(rows::ts),
        },
    ))
}

async fn fetch(
    tx: &mut Tx,
    sql: &'static str,
    id: Option<&[u8]>,
) -> Result<Vec<DbRow>, StoreError> {
    let query = sqlx::query(sql);
    let query = match id {
        Some(id) => query.bind(id.to_vec()),
        None => query,
    };
    query.fetch_all(&mut **tx).await.map_err(db_err)
}

/// Loads every key, or the one with id `only`, from one consistent read snapshot.
pub async fn load(pool: &Pool, only: Option<KeyId>) -> Result<Vec<KeyEntry>, StoreError> {
    let mut tx = super::hooks::begin_read(pool).await?;
    let id = only.map(|k| k.as_bytes().to_vec());
    let (k, v, g, p) = match only {
        Some(_) => (KEYS_ONE, VERSIONS_ONE, GRANTS_ONE, POLICIES_ONE),
        None => (KEYS_ALL, VERSIONS_ALL, GRANTS_ALL, POLICIES_ALL),
    };
    // The "every key" queries take no parameter: PostgreSQL refuses a bind it has no place for.
    let key_rows = fetch(&mut tx, k, id.as_deref()).await?;
    let version_rows = fetch(&mut tx, v, id.as_deref()).await?;
    let grant_rows = fetch(&mut tx, g, id.as_deref()).await?;
    let policy_rows = fetch(&mut tx, p, id.as_deref()).await?;
    tx.commit().await.map_err(db_err)?;

    let mut versions: HashMap<KeyId, Vec<VersionEntry>> = HashMap::new();
    for row in &version_rows {
        let (key, entry) = version_entry(row)?;
        versions.entry(key).or_default().push(entry);
    }
    let mut grants: HashMap<KeyId, HashMap<AppId, OperationSet>> = HashMap::new();
    for row in &grant_rows {
        let key = rows::key_id(&row.get::<Vec<u8>, _>("key_id"))?;
        let app = rows::app_id(&row.get::<Vec<u8>, _>("app_id"))?;
        let op = Operation::from_code(row.get("operation")).map_err(corrupt)?;
        grants
            .entry(key)
            .or_default()
            .entry(app)
            .or_default()
            .insert(op);
    }
    let mut policies: HashMap<KeyId, UsagePolicy> = HashMap::new();
    for row in &policy_rows {
        let key = rows::key_id(&row.get::<Vec<u8>, _>("key_id"))?;
        let policy = UsagePolicy::from_stored(row.get("policy")).map_err(corrupt)?;
        policies.insert(key, policy);
    }
    key_rows
        .iter()
        .map(|row| {
            let id = rows::key_id(&row.get::<Vec<u8>, _>("id"))?;
            KeyEntry::new(
                id,
                KeyName::new(row.get("name")).map_err(corrupt)?,
                Algorithm::from_code(row.get("algorithm")).map_err(corrupt)?,
                KeySettings {
                    deterministic: row.get::<i64, _>("deterministic") != 0,
                    rotation_period_ms: row.get("rotation_period_ms"),
                    notice_period_ms: row.get("notice_period_ms"),
                    exportable: row.get::<i64, _>("exportable") != 0,
                    purpose: Purpose::from_code(row.get("purpose")).map_err(corrupt)?,
                    deletion_allowed: row.get::<i64, _>("deletion_allowed") != 0,
                    derived: row.get::<i64, _>("derived") != 0,
                    convergent: row.get::<i64, _>("convergent") != 0,
                    imported: row.get::<i64, _>("imported") != 0,
                    min_encryption_version: u32::try_from(
                        row.get::<i64, _>("min_encryption_version"),
                    )
                    .map_err(|_| corrupt("min_encryption_version out of range"))?,
                    allow_plaintext_backup: row.get::<i64, _>("allow_plaintext_backup") != 0,
                },
                rows::ts(row.get("created_at")),
                rows::version(row.get("min_decryption_version"))?,
                versions.remove(&id).unwrap_or_default(),
                grants.remove(&id).unwrap_or_default(),
            )
            .map(|key| key.with_policy(policies.remove(&id)))
            .map_err(|e| corrupt(format!("key {id}: {e}")))
        })
        .collect()
}

pub async fn id_by_name(pool: &Pool, name: &KeyName) -> Result<Option<KeyId>, StoreError> {
    let id: Option<Vec<u8>> =
        sqlx::query_scalar("SELECT id FROM keys WHERE name = $1 AND deleted_at IS NULL")
            .bind(name.as_str())
            .fetch_optional(pool)
            .await
            .map_err(db_err)?;
    id.map(|b| rows::key_id(&b)).transpose()
}

pub async fn history(pool: &Pool, key: KeyId) -> Result<Vec<KeyEvent>, StoreError> {
    let found = sqlx::query(
        "SELECT version, action, from_state, to_state, actor, reason, at FROM key_events \
         WHERE key_id = $1 ORDER BY id",
    )
    .bind(key.as_bytes().to_vec())
    .fetch_all(pool)
    .await
    .map_err(db_err)?;
    let state = |code: Option<i64>| {
        code.map(VersionState::from_code)
            .transpose()
            .map_err(corrupt)
    };
    found
        .iter()
        .map(|row| {
            Ok(KeyEvent {
                at: rows::ts(row.get("at")),
                version: row
                    .get::<Option<i64>, _>("version")
                    .map(rows::version)
                    .transpose()?,
                action: row.get("action"),
                from_state: state(row.get("from_state"))?,
                to_state: state(row.get("to_state"))?,
                actor: row.get("actor"),
                reason: row.get("reason"),
            })
        })
        .collect()
}

/// New material must be wrapped under the active master key. Otherwise a version wrapped just
/// before a master-key rotation could be committed after the rewrap job finished and the old key
/// was destroyed, and never unwrap again.
pub(super) async fn require_active_master_key(tx: &mut Tx, wrapped: &WrappedKey) -> Result<(), StoreError> {
    let state: Option<i64> = sqlx::query_scalar("SELECT state FROM master_keys WHERE id = $1")
        .bind(wrapped.master_key.as_str())
        .fetch_optional(&mut **tx)
        .await
        .map_err(db_err)?;
    if state == Some(i64::from(MasterKeyState::Active.code())) {
        Ok(())
    } else {
        Err(StoreError::Conflict("master key is not the active one"))
    }
}

/// A query on the `keys` table before its settings columns are bound.
pub(super) type KeyQuery<'q> = sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments>;

/// Binds a key's settings as the next eleven parameters, in the `keys` table's column order:
/// deterministic, rotation_period_ms, notice_period_ms, exportable, purpose, deletion_allowed,
/// derived, convergent, imported, min_encryption_version, allow_plaintext_backup.
pub(super) fn bind_settings<'q>(query: KeyQuery<'q>, s: &KeySettings) -> KeyQuery<'q> {
    query
        .bind(i64::from(s.deterministic))
        .bind(s.rotation_period_ms)
        .bind(s.notice_period_ms)
        .bind(i64::from(s.exportable))
        .bind(s.purpose.code())
        .bind(i64::from(s.deletion_allowed))
        .bind(i64::from(s.derived))
        .bind(i64::from(s.convergent))
        .bind(i64::from(s.imported))
        .bind(i64::from(s.min_encryption_version))
        .bind(i64::from(s.allow_plaintext_backup))
}

async fn insert_version(
    tx: &mut Tx,
    key: KeyId,
    version: KeyVersion,
    wrapped: &WrappedKey,
    at: Timestamp,
) -> Result<(), StoreError> {
    require_active_master_key(tx, wrapped).await?;
    sqlx::query(
        "INSERT INTO key_versions (key_id, version, state, master_key_id, wrapped, created_at, \
         updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(key.as_bytes().to_vec())
    .bind(i64::from(version.get()))
    .bind(i64::from(VersionState::Active.code()))
    .bind(wrapped.master_key.as_str())
    .bind(wrapped.blob.clone())
    .bind(at.millis())
    .bind(at.millis())
    .execute(&mut **tx)
    .await
    .map_err(unique_err(StoreError::Conflict("key versions")))?;
    Ok(())
}

impl Store {
    pub(super) async fn create_key_tx(
        &self,
        key: &NewKey,
        audit_event: &AuditEvent,
    ) -> Result<Revision, StoreError> {
        let mut tx = self.begin().await?;
        bind_settings(
            sqlx::query(
                "INSERT INTO keys (id, name, algorithm, min_decryption_version, created_at, \
                 updated_at, deterministic, rotation_period_ms, notice_period_ms, exportable, \
                 purpose, deletion_allowed, derived, convergent, imported, \
                 min_encryption_version, allow_plaintext_backup) \
                 VALUES ($1, $2, $3, 1, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
            )
            .bind(key.id.as_bytes().to_vec())
            .bind(key.name.as_str())
            .bind(i64::from(key.algorithm.code()))
            .bind(key.at.millis())
            .bind(key.at.millis()),
            &key.settings,
        )
        .execute(&mut *tx)
        .await
        .map_err(unique_err(StoreError::AlreadyExists("key")))?;
        insert_version(&mut tx, key.id, KeyVersion::FIRST, &key.wrapped, key.at).await?;
        record_event(
            &mut tx,
            Event {
                key: key.id,
                version: Some(KeyVersion::FIRST),
                action: "create",
                from: None,
                to: Some(VersionState::Active),
                actor: &key.actor,
                reason: None,
                at: key.at,
            },
        )
        .await?;
        self.commit_change(tx, audit_event, Change::Key(key.id), key.at)
            .await
    }

    pub(super) async fn rotate_key_tx(
        &self,
        r: &Rotation,
        audit_event: &AuditEvent,
    ) -> Result<Revision, StoreError> {
        let mut tx = self.begin().await?;
        // Also refuses a deleted key.
        touch_key(&mut tx, r.key, r.at).await?;
        let key = r.key.as_bytes().to_vec();
        let latest: Option<i64> =
            sqlx::query_scalar("SELECT MAX(version) FROM key_versions WHERE key_id = $1")
                .bind(key.clone())
                .fetch_one(&mut *tx)
                .await
                .map_err(db_err)?;
        let latest = rows::version(latest.ok_or(StoreError::NotFound("key"))?)?;
        if latest.next().ok() != Some(r.new_version) {
            return Err(StoreError::Conflict("key versions"));
        }
        let previous: Option<i64> = sqlx::query_scalar(
            "UPDATE key_versions SET state = $1, updated_at = $2 WHERE key_id = $3 AND state = $4 \
             RETURNING version",
        )
        .bind(i64::from(VersionState::DecryptOnly.code()))
        .bind(r.at.millis())
        .bind(key.clone())
        .bind(i64::from(VersionState::Active.code()))
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        insert_version(&mut tx, r.key, r.new_version, &r.wrapped, r.at).await?;
        if let Some(previous) = previous {
            record_event(
                &mut tx,
                Event {
                    key: r.key,
                    version: Some(rows::version(previous)?),
                    action: "rotate",
                    from: Some(VersionState::Active),
                    to: Some(VersionState::DecryptOnly),
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
                key: r.key,
                version: Some(r.new_version),
                action: "rotate",
                from: None,
                to: Some(VersionState::Active),
                actor: &r.actor,
                reason: Some(&r.reason),
                at: r.at,
            },
        )
        .await?;
        self.commit_change(tx, audit_event, Change::Key(r.key), r.at)
            .await
    }

    pub(super) async fn set_grant_tx(
        &self,
        g: &Grant,
        audit_event: &AuditEvent,
    ) -> Result<Revision, StoreError> {
        let mut tx = self.begin().await?;
        // Also refuses a deleted key.
        touch_key(&mut tx, g.key, g.at).await?;
        let key = g.key.as_bytes().to_vec();
        let app = g.app.as_bytes().to_vec();
        sqlx::query("DELETE FROM grants WHERE key_id = $1 AND app_id = $2")
            .bind(key.clone())
            .bind(app.clone())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        for op in g.operations.iter() {
            sqlx::query(
                "INSERT INTO grants (key_id, app_id, operation, created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(key.clone())
            .bind(app.clone())
            .bind(i64::from(op.code()))
            .bind(g.at.millis())
            .execute(&mut *tx)
            .await
            .map_err(|e| match &e {
                sqlx::Error::Database(d) if d.is_foreign_key_violation() => {
                    StoreError::NotFound("key or app")
                }
                _ => db_err(e),
            })?;
        }
        let ops: Vec<&str> = g.operations.iter().map(|o| o.name()).collect();
        let reason = format!("app {}: [{}]", g.app_name, ops.join(","));
        record_event(
            &mut tx,
            Event {
                key: g.key,
                version: None,
                action: "grant",
                from: None,
                to: None,
                actor: &g.actor,
                reason: Some(&reason),
                at: g.at,
            },
        )
        .await?;
        self.commit_change(tx, audit_event, Change::Key(g.key), g.at)
            .await
    }
}
