//! One-time enrolments: a person sets their own password and TOTP with a token nobody else
//! uses (docs/access-control.md). The store keeps the token's hash only.

use kms_engine::audit::AuditEvent;
use kms_engine::clock::Timestamp;
use kms_engine::people::{Enrolment, EnrolmentRecord};
use kms_engine::store::{Change, Revision, StoreError};
use kms_engine::token::TokenHash;
use sqlx::Row;

use super::errors::{db_err, unique_err};
use super::{Pool, Store, Tx};
use crate::rows;

pub(super) async fn insert_enrolment(tx: &mut Tx, e: &Enrolment) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO enrolments (token_hash, user_name, created_at, expires_at, created_by) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(e.token.as_bytes().to_vec())
    .bind(&e.user)
    .bind(e.created_at.millis())
    .bind(e.expires_at.millis())
    .bind(&e.created_by)
    .execute(&mut **tx)
    .await
    .map_err(unique_err(StoreError::AlreadyExists("enrolment")))?;
    Ok(())
}

pub async fn find(pool: &Pool, token: &TokenHash) -> Result<Option<EnrolmentRecord>, StoreError> {
    let row = sqlx::query(
        "SELECT user_name, created_at, expires_at, created_by, totp_pending, used_at, revoked_at \
         FROM enrolments WHERE token_hash = $1",
    )
    .bind(token.as_bytes().to_vec())
    .fetch_optional(pool)
    .await
    .map_err(db_err)?;
    Ok(row.map(|r| EnrolmentRecord {
        enrolment: Enrolment {
            token: *token,
            user: r.get("user_name"),
            created_at: rows::ts(r.get("created_at")),
            expires_at: rows::ts(r.get("expires_at")),
            created_by: r.get("created_by"),
        },
        totp_pending: r.get("totp_pending"),
        used_at: r.get::<Option<i64>, _>("used_at").map(rows::ts),
        revoked_at: r.get::<Option<i64>, _>("revoked_at").map(rows::ts),
    }))
}

/// The condition of a usable enrolment, on `enrolments` with the time as `$2`.
const USABLE: &str = "used_at IS NULL AND revoked_at IS NULL AND expires_at > $2";

/// Ends the user's unused enrolments (a newer one, or a reset, replaces them).
pub(super) async fn revoke_open(tx: &mut Tx, user: &str, at: Timestamp) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE enrolments SET revoked_at = $1 WHERE user_name = $2 AND used_at IS NULL \
         AND revoked_at IS NULL",
    )
    .bind(at.millis())
    .bind(user)
    .execute(&mut **tx)
    .await
    .map_err(db_err)?;
    Ok(())
}

impl Store {
    pub(super) async fn issue_enrolment_tx(
        &self,
        enrolment: &Enrolment,
        audit_event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let exists: Option<String> = sqlx::query_scalar("SELECT name FROM users WHERE name = $1")
            .bind(&enrolment.user)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?;
        if exists.is_none() {
            return Err(StoreError::NotFound("user"));
        }
        revoke_open(&mut tx, &enrolment.user, enrolment.created_at).await?;
        insert_enrolment(&mut tx, enrolment).await?;
        super::audit::append(&mut tx, audit_event).await?;
        tx.commit().await.map_err(db_err)
    }

    pub(super) async fn offer_enrolment_totp_tx(
        &self,
        token: &TokenHash,
        totp_sealed: &[u8],
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let done = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE enrolments SET totp_pending = $3 WHERE token_hash = $1 AND {USABLE}"
        )))
        .bind(token.as_bytes().to_vec())
        .bind(at.millis())
        .bind(totp_sealed.to_vec())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("enrolment"));
        }
        tx.commit().await.map_err(db_err)
    }

    pub(super) async fn complete_enrolment_tx(
        &self,
        token: &TokenHash,
        password_hash: &str,
        totp_step: u64,
        audit_event: &AuditEvent,
    ) -> Result<Revision, StoreError> {
        let mut tx = self.begin().await?;
        let at = audit_event.at.millis();
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE enrolments SET used_at = $2 WHERE token_hash = $1 AND {USABLE} \
             AND totp_pending IS NOT NULL RETURNING user_name, totp_pending"
        )))
        .bind(token.as_bytes().to_vec())
        .bind(at)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?
        .ok_or(StoreError::NotFound("enrolment"))?;
        let user: String = row.get("user_name");
        let totp: Vec<u8> = row.get("totp_pending");
        sqlx::query(
            "UPDATE users SET password_hash = $1, totp_sealed = $2, failed_logins = 0, \
             locked_until = NULL, totp_last_step = $3, updated_at = $4 WHERE name = $5",
        )
        .bind(password_hash)
        .bind(totp)
        .bind(i64::try_from(totp_step).unwrap_or(i64::MAX))
        .bind(at)
        .bind(&user)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        // Its other open enrolments end with this one.
        revoke_open(&mut tx, &user, audit_event.at).await?;
        self.commit_change(tx, audit_event, Change::Credentials, audit_event.at)
            .await
    }
}
