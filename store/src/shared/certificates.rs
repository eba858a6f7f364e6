//! Client certificates bound to apps, by SHA-256 fingerprint.

use kms_engine::audit::AuditEvent;
use kms_engine::certificate::CertFingerprint;
use kms_engine::clock::Timestamp;
use kms_engine::directory::Principal;
use kms_engine::ids::{AppId, AppName};
use kms_engine::store::{
    CertificateBinding, CertificateCredential, CertificateRecord, Change, Revision, StoreError,
};
use sqlx::Row;

use super::{DbRow, Pool, Store, Tx};
use super::errors::{db_err, unique_err};
use crate::rows::{self, corrupt};

fn fingerprint(row: &DbRow) -> Result<CertFingerprint, StoreError> {
    <[u8; 32]>::try_from(row.get::<Vec<u8>, _>("fingerprint").as_slice())
        .map(CertFingerprint::from_bytes)
        .map_err(|_| corrupt("certificate fingerprint is not 32 bytes"))
}

/// Every live binding, with its app.
pub async fn load(pool: &Pool) -> Result<Vec<CertificateCredential>, StoreError> {
    let found = sqlx::query(
        "SELECT c.fingerprint, a.id AS app_id, a.name AS app_name FROM app_certificates c \
         JOIN apps a ON a.id = c.app_id WHERE c.revoked_at IS NULL",
    )
    .fetch_all(pool)
    .await
    .map_err(db_err)?;
    found
        .iter()
        .map(|row| {
            Ok(CertificateCredential {
                fingerprint: fingerprint(row)?,
                principal: Principal::App {
                    id: rows::app_id(&row.get::<Vec<u8>, _>("app_id"))?,
                    name: AppName::new(row.get("app_name")).map_err(corrupt)?,
                },
            })
        })
        .collect()
}

/// The bindings of every app (or of the app called `only`), oldest first.
pub async fn list(
    tx: &mut Tx,
    only: Option<&str>,
) -> Result<Vec<(AppId, CertificateRecord)>, StoreError> {
    let found = sqlx::query(concat!(
        "SELECT c.app_id, c.fingerprint, c.created_at, c.revoked_at FROM app_certificates c \
         JOIN apps a ON a.id = c.app_id WHERE $1 IS NULL OR a.name = $1 \
         ORDER BY c.created_at, c.",
        insertion_order!()
    ))
    .bind(only)
    .fetch_all(&mut **tx)
    .await
    .map_err(db_err)?;
    found
        .iter()
        .map(|row| {
            Ok((
                rows::app_id(&row.get::<Vec<u8>, _>("app_id"))?,
                CertificateRecord {
                    fingerprint: fingerprint(row)?,
                    created_at: rows::ts(row.get("created_at")),
                    revoked_at: row.get::<Option<i64>, _>("revoked_at").map(rows::ts),
                },
            ))
        })
        .collect()
}

/// Revokes the app's live bindings (with its tokens, in the revocation's transaction).
pub async fn revoke(tx: &mut Tx, app: AppId, at: Timestamp) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE app_certificates SET revoked_at = $1 WHERE app_id = $2 AND revoked_at IS NULL",
    )
    .bind(at.millis())
    .bind(app.as_bytes().to_vec())
    .execute(&mut **tx)
    .await
    .map_err(db_err)?;
    Ok(())
}

impl Store {
    pub(super) async fn bind_app_certificate_tx(
        &self,
        binding: &CertificateBinding,
        audit_event: &AuditEvent,
    ) -> Result<Revision, StoreError> {
        let mut tx = self.begin().await?;
        require_app(&mut tx, binding.app).await?;
        sqlx::query(
            "INSERT INTO app_certificates (fingerprint, app_id, created_at) VALUES ($1, $2, $3)",
        )
        .bind(binding.fingerprint.as_bytes().to_vec())
        .bind(binding.app.as_bytes().to_vec())
        .bind(binding.at.millis())
        .execute(&mut *tx)
        .await
        .map_err(unique_err(StoreError::AlreadyExists("certificate")))?;
        self.commit_change(tx, audit_event, Change::Credentials, binding.at)
            .await
    }
}

/// `NotFound("app")` unless the app exists.
pub(super) async fn require_app(tx: &mut Tx, app: AppId) -> Result<(), StoreError> {
    let found: Option<i64> = sqlx::query_scalar("SELECT CAST(1 AS BIGINT) FROM apps WHERE id = $1")
        .bind(app.as_bytes().to_vec())
        .fetch_optional(&mut **tx)
        .await
        .map_err(db_err)?;
    found.map(|_| ()).ok_or(StoreError::NotFound("app"))
}
