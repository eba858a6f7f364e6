//! Apps and bearer tokens (app tokens and root tokens).

use kms_engine::audit::AuditEvent;
use kms_engine::clock::Timestamp;
use kms_engine::directory::{Credential, Principal};
use kms_engine::ids::AppId;
use kms_engine::ids::AppName;
use kms_engine::store::{
    AppRecord, AppTokens, Change, Revision, StoreError, TokenRecord, TokenRotation,
};
use kms_engine::token::TokenHash;
use sqlx::Row;

use super::certificates::require_app;
use super::{DbRow, Pool, Store, Tx};
use super::errors::{db_err, unique_err};
use crate::rows::{self, corrupt};

const KIND_APP: i64 = 1;
const KIND_ROOT: i64 = 2;

/// Every token that is neither revoked nor expired at `now` (a token that expires later carries
/// its expiry into the directory, which checks it per request).
pub async fn credentials(pool: &Pool, now: Timestamp) -> Result<Vec<Credential>, StoreError> {
    let found = sqlx::query(
        "SELECT t.hash, t.kind, t.label, t.expires_at, a.id AS app_id, a.name AS app_name \
         FROM tokens t LEFT JOIN apps a ON a.id = t.app_id \
         WHERE t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > $1)",
    )
    .bind(now.millis())
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
                expires_at: row.get::<Option<i64>, _>("expires_at").map(rows::ts),
            })
        })
        .collect()
}

fn app_record(row: &DbRow) -> Result<AppRecord, StoreError> {
    Ok(AppRecord {
        id: rows::app_id(&row.get::<Vec<u8>, _>("id"))?,
        name: AppName::new(row.get("name")).map_err(corrupt)?,
        created_at: rows::ts(row.get("created_at")),
    })
}

pub async fn find(pool: &Pool, name: &AppName) -> Result<Option<AppRecord>, StoreError> {
    let row = sqlx::query("SELECT id, name, created_at FROM apps WHERE name = $1")
        .bind(name.as_str())
        .fetch_optional(pool)
        .await
        .map_err(db_err)?;
    row.as_ref().map(app_record).transpose()
}

/// Apps (all, or the one called `only`) with their tokens, from one read snapshot.
pub async fn list(pool: &Pool, only: Option<&AppName>) -> Result<Vec<AppTokens>, StoreError> {
    let mut tx = super::hooks::begin_read(pool).await?;
    let name = only.map(AppName::as_str);
    let apps = sqlx::query(
        "SELECT id, name, created_at FROM apps WHERE $1 IS NULL OR name = $1 ORDER BY name",
    )
    .bind(name)
    .fetch_all(&mut *tx)
    .await
    .map_err(db_err)?;
    let tokens = sqlx::query(concat!(
        "SELECT t.app_id, t.hash, t.created_at, t.expires_at, t.revoked_at FROM tokens t \
         JOIN apps a ON a.id = t.app_id WHERE t.kind = $1 AND ($2 IS NULL OR a.name = $2) \
         ORDER BY t.created_at, t.",
        insertion_order!()
    ))
    .bind(KIND_APP)
    .bind(name)
    .fetch_all(&mut *tx)
    .await
    .map_err(db_err)?;
    let certificates = super::certificates::list(&mut tx, name).await?;
    tx.commit().await.map_err(db_err)?;
    let mut listed: Vec<AppTokens> = apps
        .iter()
        .map(|row| {
            Ok(AppTokens {
                app: app_record(row)?,
                tokens: Vec::new(),
                certificates: Vec::new(),
            })
        })
        .collect::<Result<_, StoreError>>()?;
    for row in &tokens {
        let app = rows::app_id(&row.get::<Vec<u8>, _>("app_id"))?;
        let hash = <[u8; 32]>::try_from(row.get::<Vec<u8>, _>("hash").as_slice())
            .map_err(|_| corrupt("token hash is not 32 bytes"))?;
        let token = TokenRecord {
            id: TokenHash::from_bytes(hash).id(),
            created_at: rows::ts(row.get("created_at")),
            expires_at: row.get::<Option<i64>, _>("expires_at").map(rows::ts),
            revoked_at: row.get::<Option<i64>, _>("revoked_at").map(rows::ts),
        };
        if let Some(entry) = listed.iter_mut().find(|a| a.app.id == app) {
            entry.tokens.push(token);
        }
    }
    for (app, certificate) in certificates {
        if let Some(entry) = listed.iter_mut().find(|a| a.app.id == app) {
            entry.certificates.push(certificate);
        }
    }
    Ok(listed)
}

async fn insert_app_token(
    tx: &mut Tx,
    app: AppId,
    token: &TokenHash,
    at: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO tokens (hash, kind, app_id, created_at) VALUES ($1, $2, $3, $4)")
        .bind(token.as_bytes().to_vec())
        .bind(KIND_APP)
        .bind(app.as_bytes().to_vec())
        .bind(at.millis())
        .execute(&mut **tx)
        .await
        .map_err(unique_err(StoreError::AlreadyExists("token")))?;
    Ok(())
}

/// Revokes the live root token called `label` (if it is another token) and stores `token` under
/// that label. The same token again (a dev server restarted with the same --dev-root-token)
/// revives its row rather than failing on the primary key.
pub async fn insert_root_token(
    tx: &mut Tx,
    label: &str,
    token: &TokenHash,
    at: Timestamp,
) -> Result<(), StoreError> {
    let hash = token.as_bytes().to_vec();
    sqlx::query(
        "UPDATE tokens SET revoked_at = $1 WHERE kind = $2 AND label = $3 AND revoked_at IS NULL \
         AND hash <> $4",
    )
    .bind(at.millis())
    .bind(KIND_ROOT)
    .bind(label)
    .bind(hash.clone())
    .execute(&mut **tx)
    .await
    .map_err(db_err)?;
    let done = sqlx::query(
        "INSERT INTO tokens (hash, kind, label, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (hash) DO UPDATE SET revoked_at = NULL WHERE tokens.kind = $5 \
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

impl Store {
    pub(super) async fn create_app_tx(
        &self,
        app: &AppRecord,
        token: &TokenHash,
        audit_event: &AuditEvent,
    ) -> Result<Revision, StoreError> {
        let mut tx = self.begin().await?;
        let at = app.created_at.millis();
        sqlx::query("INSERT INTO apps (id, name, created_at) VALUES ($1, $2, $3)")
            .bind(app.id.as_bytes().to_vec())
            .bind(app.name.as_str())
            .bind(at)
            .execute(&mut *tx)
            .await
            .map_err(unique_err(StoreError::AlreadyExists("app")))?;
        insert_app_token(&mut tx, app.id, token, app.created_at).await?;
        self.commit_change(tx, audit_event, Change::Credentials, app.created_at)
            .await
    }

    pub(super) async fn put_root_token_tx(
        &self,
        label: &str,
        token: &TokenHash,
        audit_event: &AuditEvent,
    ) -> Result<Revision, StoreError> {
        let mut tx = self.begin().await?;
        insert_root_token(&mut tx, label, token, audit_event.at).await?;
        self.commit_change(tx, audit_event, Change::Credentials, audit_event.at)
            .await
    }

    pub(super) async fn rotate_app_token_tx(
        &self,
        r: &TokenRotation,
        audit_event: &AuditEvent,
    ) -> Result<Revision, StoreError> {
        let mut tx = self.begin().await?;
        require_app(&mut tx, r.app).await?;
        // Live tokens expire at the end of the overlap, unless they already expire sooner.
        sqlx::query(
            "UPDATE tokens SET expires_at = $1 WHERE app_id = $2 AND kind = $3 \
             AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $1)",
        )
        .bind(r.old_expire_at.millis())
        .bind(r.app.as_bytes().to_vec())
        .bind(KIND_APP)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        insert_app_token(&mut tx, r.app, &r.token, r.at).await?;
        self.commit_change(tx, audit_event, Change::Credentials, r.at)
            .await
    }

    pub(super) async fn revoke_app_tokens_tx(
        &self,
        app: AppId,
        at: Timestamp,
        audit_event: &AuditEvent,
    ) -> Result<(Revision, u64), StoreError> {
        let mut tx = self.begin().await?;
        require_app(&mut tx, app).await?;
        let done = sqlx::query(
            "UPDATE tokens SET revoked_at = $1 WHERE app_id = $2 AND kind = $3 \
             AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $1)",
        )
        .bind(at.millis())
        .bind(app.as_bytes().to_vec())
        .bind(KIND_APP)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        super::certificates::revoke(&mut tx, app, at).await?;
        Ok((
            self.commit_change(tx, audit_event, Change::Credentials, at)
                .await?,
            done.rows_affected(),
        ))
    }
}
