//! Apps and bearer tokens (app tokens and root tokens).

use kms_engine::audit::AuditEvent;
use kms_engine::clock::Timestamp;
use kms_engine::directory::{Credential, Principal};
use kms_engine::ids::AppName;
use kms_engine::store::{AppRecord, Change, Revision, StoreError};
use kms_engine::token::TokenHash;
use sqlx::{Row, Sqlite, SqlitePool, Transaction};

use super::rows::{self, corrupt};
use super::{SqliteStore, audit, db_err, feed, unique_err};

const KIND_APP: i64 = 1;
const KIND_ROOT: i64 = 2;

pub async fn credentials(pool: &SqlitePool) -> Result<Vec<Credential>, StoreError> {
    let found = sqlx::query(
        "SELECT t.hash, t.kind, t.label, a.id AS app_id, a.name AS app_name FROM tokens t \
         LEFT JOIN apps a ON a.id = t.app_id WHERE t.revoked_at IS NULL",
    )
    .fetch_all(pool)
    .await
    .map_err(db_err)?;
    found
        .iter()
        .map(|row| {
            let hash = <[u8; 32]>::try_from(row.get::<Vec<u8>, _>("hash").as_slice())
                .map_err(|_| corrupt("token hash is not 32 bytes"))?;
            let principal = match row.get::<i64, _>("kind") {
                KIND_ROOT => Principal::Root {
                    label: row
                        .get::<Option<String>, _>("label")
                        .ok_or_else(|| corrupt("root token without label"))?,
                },
                KIND_APP => {
                    let id: Option<Vec<u8>> = row.get("app_id");
                    let name: Option<String> = row.get("app_name");
                    match (id, name) {
                        (Some(id), Some(name)) => Principal::App {
                            id: rows::app_id(&id)?,
                            name: AppName::new(&name).map_err(corrupt)?,
                        },
                        _ => return Err(corrupt("app token without its app")),
                    }
                }
                other => return Err(corrupt(format!("unknown token kind {other}"))),
            };
            Ok(Credential {
                hash: TokenHash::from_bytes(hash),
                principal,
            })
        })
        .collect()
}

pub async fn find(pool: &SqlitePool, name: &AppName) -> Result<Option<AppRecord>, StoreError> {
    let row = sqlx::query("SELECT id, name, created_at FROM apps WHERE name = ?")
        .bind(name.as_str())
        .fetch_optional(pool)
        .await
        .map_err(db_err)?;
    row.map(|row| {
        Ok(AppRecord {
            id: rows::app_id(&row.get::<Vec<u8>, _>("id"))?,
            name: AppName::new(row.get("name")).map_err(corrupt)?,
            created_at: rows::ts(row.get("created_at")),
        })
    })
    .transpose()
}

/// Revokes the live root token called `label` (if it is another token) and stores `token` under
/// that label. The same token again (a dev server restarted with the same --dev-root-token)
/// revives its row rather than failing on the primary key.
pub async fn insert_root_token(
    tx: &mut Transaction<'static, Sqlite>,
    label: &str,
    token: &TokenHash,
    at: Timestamp,
) -> Result<(), StoreError> {
    let hash = token.as_bytes().to_vec();
    sqlx::query(
        "UPDATE tokens SET revoked_at = ? WHERE kind = ? AND label = ? AND revoked_at IS NULL \
         AND hash <> ?",
    )
    .bind(at.millis())
    .bind(KIND_ROOT)
    .bind(label)
    .bind(hash.clone())
    .execute(&mut **tx)
    .await
    .map_err(db_err)?;
    let done = sqlx::query(
        "INSERT INTO tokens (hash, kind, label, created_at) VALUES (?, ?, ?, ?) \
         ON CONFLICT (hash) DO UPDATE SET revoked_at = NULL WHERE tokens.kind = ? \
         AND tokens.label = excluded.label",
    )
    .bind(hash)
    .bind(KIND_ROOT)
    .bind(label)
    .bind(at.millis())
    .bind(KIND_ROOT)
    .execute(&mut **tx)
    .await
    .map_err(db_err)?;
    if done.rows_affected() == 0 {
        return Err(StoreError::AlreadyExists("token"));
    }
    Ok(())
}

impl SqliteStore {
    pub(super) async fn create_app_tx(
        &self,
        app: &AppRecord,
        token: &TokenHash,
        audit_event: &AuditEvent,
    ) -> Result<Revision, StoreError> {
        let mut tx = self.begin().await?;
        let at = app.created_at.millis();
        sqlx::query("INSERT INTO apps (id, name, created_at) VALUES (?, ?, ?)")
            .bind(app.id.as_bytes().to_vec())
            .bind(app.name.as_str())
            .bind(at)
            .execute(&mut *tx)
            .await
            .map_err(unique_err(StoreError::AlreadyExists("app")))?;
        sqlx::query("INSERT INTO tokens (hash, kind, app_id, created_at) VALUES (?, ?, ?, ?)")
            .bind(token.as_bytes().to_vec())
            .bind(KIND_APP)
            .bind(app.id.as_bytes().to_vec())
            .bind(at)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        audit::append(&mut tx, audit_event).await?;
        let revision = feed::record(&mut tx, Change::Credentials, app.created_at).await?;
        self.commit(tx, revision).await
    }

    pub(super) async fn put_root_token_tx(
        &self,
        label: &str,
        token: &TokenHash,
        audit_event: &AuditEvent,
    ) -> Result<Revision, StoreError> {
        let mut tx = self.begin().await?;
        insert_root_token(&mut tx, label, token, audit_event.at).await?;
        audit::append(&mut tx, audit_event).await?;
        let revision = feed::record(&mut tx, Change::Credentials, audit_event.at).await?;
        self.commit(tx, revision).await
    }
}
