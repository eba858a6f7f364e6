//! People, their sessions, and revoking root tokens.

use kms_engine::audit::AuditEvent;
use kms_engine::directory::{Credential, Principal};
use kms_engine::clock::Timestamp;
use kms_engine::people::{Enrolment, LoginState, Session, UserRecord};
use kms_engine::role::RoleSet;
use kms_engine::store::{Change, Revision, StoreError};
use kms_engine::token::TokenHash;
use sqlx::Row;

use super::enrolments::{insert_enrolment, revoke_open};
use super::{DbRow, Pool, QueryResult, Store, audit};
use super::errors::{db_err, unique_err};
use crate::rows::{self, corrupt};

const USER_COLUMNS: &str = "name, roles, password_hash, totp_sealed, failed_logins, locked_until, \
                            totp_last_step, disabled, created_at";

fn user(row: &DbRow) -> Result<UserRecord, StoreError> {
    Ok(UserRecord {
        name: row.get("name"),
        roles: RoleSet::parse_csv(row.get("roles")).map_err(corrupt)?,
        password_hash: row.get("password_hash"),
        totp_sealed: row.get("totp_sealed"),
        login: LoginState {
            failed_logins: u32::try_from(row.get::<i64, _>("failed_logins"))
                .map_err(|_| corrupt("negative failure count"))?,
            locked_until: row.get::<Option<i64>, _>("locked_until").map(rows::ts),
            totp_last_step: u64::try_from(row.get::<i64, _>("totp_last_step"))
                .map_err(|_| corrupt("negative TOTP step"))?,
        },
        disabled: row.get::<i64, _>("disabled") != 0,
        created_at: rows::ts(row.get("created_at")),
    })
}

pub async fn find(pool: &Pool, name: &str) -> Result<Option<UserRecord>, StoreError> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {USER_COLUMNS} FROM users WHERE name = $1"
    )))
    .bind(name)
    .fetch_optional(pool)
    .await
    .map_err(db_err)?
    .as_ref()
    .map(user)
    .transpose()
}

pub async fn all(pool: &Pool) -> Result<Vec<UserRecord>, StoreError> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {USER_COLUMNS} FROM users ORDER BY name"
    )))
    .fetch_all(pool)
    .await
    .map_err(db_err)?
    .iter()
    .map(user)
    .collect()
}

/// Open sessions of enabled users, as credentials (expiry is checked per request).
pub async fn session_credentials(pool: &Pool) -> Result<Vec<Credential>, StoreError> {
    let found = sqlx::query(
        "SELECT s.hash, s.expires_at, u.name, u.roles FROM sessions s \
         JOIN users u ON u.name = s.user_name WHERE s.ended_at IS NULL AND u.disabled = 0",
    )
    .fetch_all(pool)
    .await
    .map_err(db_err)?;
    found
        .iter()
        .map(|row| {
            let hash = <[u8; 32]>::try_from(row.get::<Vec<u8>, _>("hash").as_slice())
                .map_err(|_| corrupt("session hash is not 32 bytes"))?;
            let expires_at = rows::ts(row.get("expires_at"));
            Ok(Credential {
                hash: TokenHash::from_bytes(hash),
                principal: Principal::User {
                    name: row.get("name"),
                    roles: RoleSet::parse_csv(row.get("roles")).map_err(corrupt)?,
                    expires_at,
                },
                // The session's end, on the same per-request check as rotated tokens (the
                // session arm in auth.rs answers first, with `session_expired`).
                expires_at: Some(expires_at),
            })
        })
        .collect()
}

fn not_found(done: &QueryResult) -> Result<(), StoreError> {
    if done.rows_affected() == 0 {
        Err(StoreError::NotFound("user"))
    } else {
        Ok(())
    }
}

impl Store {
    pub(super) async fn create_user_tx(
        &self,
        u: &UserRecord,
        enrolment: &Enrolment,
        audit_event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO users (name, roles, password_hash, totp_sealed, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&u.name)
        .bind(u.roles.to_csv())
        .bind(&u.password_hash)
        .bind(&u.totp_sealed)
        .bind(u.created_at.millis())
        .bind(u.created_at.millis())
        .execute(&mut *tx)
        .await
        .map_err(unique_err(StoreError::AlreadyExists("user")))?;
        insert_enrolment(&mut tx, enrolment).await?;
        audit::append(&mut tx, audit_event).await?;
        tx.commit().await.map_err(db_err)
    }

    pub(super) async fn reset_user_credentials_tx(
        &self,
        enrolment: &Enrolment,
        audit_event: &AuditEvent,
    ) -> Result<Revision, StoreError> {
        let mut tx = self.begin().await?;
        let at = enrolment.created_at.millis();
        let done = sqlx::query(
            "UPDATE users SET password_hash = '', totp_sealed = $1, failed_logins = 0, \
             locked_until = NULL, updated_at = $2 WHERE name = $3",
        )
        .bind(Vec::<u8>::new())
        .bind(at)
        .bind(&enrolment.user)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        not_found(&done)?;
        sqlx::query("UPDATE sessions SET ended_at = $1 WHERE user_name = $2 AND ended_at IS NULL")
            .bind(at)
            .bind(&enrolment.user)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        revoke_open(&mut tx, &enrolment.user, enrolment.created_at).await?;
        insert_enrolment(&mut tx, enrolment).await?;
        self.commit_change(tx, audit_event, Change::Credentials, audit_event.at)
            .await
    }

    pub(super) async fn set_user_roles_tx(
        &self,
        name: &str,
        roles: RoleSet,
        audit_event: &AuditEvent,
    ) -> Result<Revision, StoreError> {
        let mut tx = self.begin().await?;
        let done = sqlx::query("UPDATE users SET roles = $1, updated_at = $2 WHERE name = $3")
            .bind(roles.to_csv())
            .bind(audit_event.at.millis())
            .bind(name)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        not_found(&done)?;
        self.commit_change(tx, audit_event, Change::Credentials, audit_event.at)
            .await
    }

    pub(super) async fn set_user_disabled_tx(
        &self,
        name: &str,
        disabled: bool,
        audit_event: &AuditEvent,
    ) -> Result<Revision, StoreError> {
        let mut tx = self.begin().await?;
        let at = audit_event.at.millis();
        let done = sqlx::query(
            "UPDATE users SET disabled = $1, failed_logins = 0, locked_until = NULL, \
             updated_at = $2 WHERE name = $3",
        )
        .bind(i64::from(disabled))
        .bind(at)
        .bind(name)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        not_found(&done)?;
        if disabled {
            sqlx::query(
                "UPDATE sessions SET ended_at = $1 WHERE user_name = $2 AND ended_at IS NULL",
            )
            .bind(at)
            .bind(name)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        self.commit_change(tx, audit_event, Change::Credentials, audit_event.at)
            .await
    }

    pub(super) async fn record_login_tx(
        &self,
        name: &str,
        totp_step: u64,
        s: &Session,
        audit_event: &AuditEvent,
    ) -> Result<Revision, StoreError> {
        let mut tx = self.begin().await?;
        let at = audit_event.at.millis();
        let step = i64::try_from(totp_step).unwrap_or(i64::MAX);
        // The step must advance (a code used once is not accepted again, even by a login racing
        // this one), and a lock taken meanwhile by concurrent failures holds.
        let done = sqlx::query(
            "UPDATE users SET failed_logins = 0, locked_until = NULL, totp_last_step = $1, \
             updated_at = $2 WHERE name = $3 AND totp_last_step < $1 \
             AND (locked_until IS NULL OR locked_until <= $2)",
        )
        .bind(step)
        .bind(at)
        .bind(name)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict("totp code"));
        }
        // Sessions that ended or expired are no longer needed.
        sqlx::query("DELETE FROM sessions WHERE expires_at < $1 OR ended_at IS NOT NULL")
            .bind(at)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        sqlx::query(
            "INSERT INTO sessions (hash, user_name, created_at, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(s.hash.as_bytes().to_vec())
        .bind(&s.user)
        .bind(s.created_at.millis())
        .bind(s.expires_at.millis())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        self.commit_change(tx, audit_event, Change::Credentials, audit_event.at)
            .await
    }

    pub(super) async fn record_login_failure_tx(
        &self,
        name: &str,
        max_failed: u32,
        locked_until: Timestamp,
        audit_event: &AuditEvent,
    ) -> Result<Option<LoginState>, StoreError> {
        let mut tx = self.begin().await?;
        let at = audit_event.at.millis();
        let max = i64::from(max_failed.max(1));
        // One statement decides: counted, and the limit-th failure locks. Locked accounts count
        // nothing, so failures in flight when the lock fell do not lock it again.
        let row = sqlx::query(
            "UPDATE users SET \
             locked_until = CASE WHEN failed_logins + 1 >= $1 THEN $2 ELSE locked_until END, \
             failed_logins = CASE WHEN failed_logins + 1 >= $1 THEN 0 ELSE failed_logins + 1 END, \
             updated_at = $3 \
             WHERE name = $4 AND (locked_until IS NULL OR locked_until <= $3) \
             RETURNING failed_logins, locked_until, totp_last_step",
        )
        .bind(max)
        .bind(locked_until.millis())
        .bind(at)
        .bind(name)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        let state = row
            .map(|r| {
                Ok::<_, StoreError>(LoginState {
                    failed_logins: u32::try_from(r.get::<i64, _>("failed_logins"))
                        .map_err(|_| corrupt("negative failure count"))?,
                    locked_until: r.get::<Option<i64>, _>("locked_until").map(rows::ts),
                    totp_last_step: u64::try_from(r.get::<i64, _>("totp_last_step"))
                        .map_err(|_| corrupt("negative TOTP step"))?,
                })
            })
            .transpose()?;
        let mut event = audit_event.clone();
        if let Some(s) = &state {
            event.detail = Some(match s.locked_until {
                Some(_) if s.failed_logins == 0 => format!("failure {max}: account locked"),
                _ => format!("failure {}", s.failed_logins),
            });
        } else {
            event.code = Some("account_locked".into());
        }
        audit::append(&mut tx, &event).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(state)
    }

    pub(super) async fn end_session_tx(
        &self,
        hash: &TokenHash,
        audit_event: &AuditEvent,
    ) -> Result<Revision, StoreError> {
        let mut tx = self.begin().await?;
        let done =
            sqlx::query("UPDATE sessions SET ended_at = $1 WHERE hash = $2 AND ended_at IS NULL")
                .bind(audit_event.at.millis())
                .bind(hash.as_bytes().to_vec())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("session"));
        }
        self.commit_change(tx, audit_event, Change::Credentials, audit_event.at)
            .await
    }

    pub(super) async fn revoke_root_tokens_tx(
        &self,
        audit_event: &AuditEvent,
    ) -> Result<(Revision, u64), StoreError> {
        let mut tx = self.begin().await?;
        let done =
            sqlx::query("UPDATE tokens SET revoked_at = $1 WHERE kind = 2 AND revoked_at IS NULL")
                .bind(audit_event.at.millis())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        Ok((
            self.commit_change(tx, audit_event, Change::Credentials, audit_event.at)
                .await?,
            done.rows_affected(),
        ))
    }
}
