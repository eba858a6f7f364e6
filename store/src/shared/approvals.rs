//! Approvals of sensitive actions, and their votes.

use kms_engine::audit::AuditEvent;
use kms_engine::clock::Timestamp;
use kms_engine::people::{ApprovalRecord, ApprovalState, NewApproval, Vote};
use kms_engine::role::RoleSet;
use kms_engine::store::StoreError;
use sqlx::Row;

use super::{Db, DbRow, Pool, Store, audit};
use super::errors::{db_err, unique_err};
use crate::rows::{self, corrupt};

const COLUMNS: &str = "id, action, target, params, requester, quorum, approver_roles, state, \
                       created_at, expires_at, executed_at, result, \
                       (private_result IS NOT NULL) AS private_pending";

async fn votes<'e, E>(exec: E, id: i64) -> Result<Vec<Vote>, StoreError>
where
    E: sqlx::Executor<'e, Database = Db>,
{
    let found = sqlx::query(
        "SELECT user_name, approve, at, params_hash FROM approval_votes WHERE approval_id = $1 \
         ORDER BY at, user_name",
    )
    .bind(id)
    .fetch_all(exec)
    .await
    .map_err(db_err)?;
    found
        .iter()
        .map(|r| {
            let hash: Option<Vec<u8>> = r.get("params_hash");
            Ok(Vote {
                user: r.get("user_name"),
                approve: r.get::<i64, _>("approve") != 0,
                at: rows::ts(r.get("at")),
                params_hash: hash
                    .map(|h| <[u8; 32]>::try_from(h.as_slice()))
                    .transpose()
                    .map_err(|_| corrupt("a vote's parameter hash is not 32 bytes"))?,
            })
        })
        .collect()
}

fn record(row: &DbRow, votes: Vec<Vote>) -> Result<ApprovalRecord, StoreError> {
    Ok(ApprovalRecord {
        id: row.get("id"),
        request: NewApproval {
            action: row.get("action"),
            target: row.get("target"),
            params: row.get("params"),
            requester: row.get("requester"),
            quorum: u8::try_from(row.get::<i64, _>("quorum"))
                .map_err(|_| corrupt("quorum out of range"))?,
            approver_roles: RoleSet::parse_csv(row.get("approver_roles")).map_err(corrupt)?,
            created_at: rows::ts(row.get("created_at")),
            expires_at: rows::ts(row.get("expires_at")),
        },
        state: ApprovalState::from_code(row.get("state"))
            .ok_or_else(|| corrupt("unknown approval state"))?,
        votes,
        executed_at: row.get::<Option<i64>, _>("executed_at").map(rows::ts),
        result: row.get("result"),
        private_pending: row.get::<bool, _>("private_pending"),
    })
}

pub async fn find(pool: &Pool, id: i64) -> Result<Option<ApprovalRecord>, StoreError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM approvals WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(pool)
    .await
    .map_err(db_err)?;
    match row {
        Some(row) => Ok(Some(record(&row, votes(pool, id).await?)?)),
        None => Ok(None),
    }
}

pub async fn list(
    pool: &Pool,
    pending_only: bool,
    limit: u32,
) -> Result<Vec<ApprovalRecord>, StoreError> {
    let found = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM approvals WHERE ($1 = 0 OR state = 1) ORDER BY id DESC LIMIT $2"
    )))
    .bind(i64::from(pending_only))
    .bind(i64::from(limit.clamp(1, 1000)))
    .fetch_all(pool)
    .await
    .map_err(db_err)?;
    let mut out = Vec::with_capacity(found.len());
    for row in &found {
        out.push(record(row, votes(pool, row.get("id")).await?)?);
    }
    Ok(out)
}

impl Store {
    pub(super) async fn create_approval_tx(
        &self,
        a: &NewApproval,
        audit_event: &AuditEvent,
    ) -> Result<i64, StoreError> {
        let mut tx = self.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO approvals (action, target, params, requester, quorum, approver_roles, \
             state, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $8) RETURNING id",
        )
        .bind(&a.action)
        .bind(&a.target)
        .bind(&a.params)
        .bind(&a.requester)
        .bind(i64::from(a.quorum))
        .bind(a.approver_roles.to_csv())
        .bind(a.created_at.millis())
        .bind(a.expires_at.millis())
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
        let mut event = audit_event.clone();
        event.target = Some(format!("approval:{id}"));
        event.detail = Some(format!("{} {}", a.action, a.target));
        audit::append(&mut tx, &event).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(id)
    }

    pub(super) async fn vote_tx(
        &self,
        id: i64,
        vote: &Vote,
        audit_event: &AuditEvent,
    ) -> Result<ApprovalRecord, StoreError> {
        let mut tx = self.begin().await?;
        let open: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM approvals WHERE id = $1 AND state = 1 AND expires_at > $2",
        )
        .bind(id)
        .bind(vote.at.millis())
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        if open.is_none() {
            return Err(StoreError::Conflict("approval"));
        }
        sqlx::query(
            "INSERT INTO approval_votes (approval_id, user_name, approve, at, params_hash) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(&vote.user)
        .bind(i64::from(vote.approve))
        .bind(vote.at.millis())
        .bind(vote.params_hash.map(|h| h.to_vec()))
        .execute(&mut *tx)
        .await
        .map_err(unique_err(StoreError::AlreadyExists("vote")))?;
        if !vote.approve {
            sqlx::query("UPDATE approvals SET state = 3 WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        audit::append(&mut tx, audit_event).await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM approvals WHERE id = $1"
        )))
        .bind(id)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
        let found = record(&row, votes(&mut *tx, id).await?)?;
        tx.commit().await.map_err(db_err)?;
        Ok(found)
    }

    pub(super) async fn claim_approval_tx(
        &self,
        id: i64,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let done = sqlx::query(
            "UPDATE approvals SET state = 4 WHERE id = $1 AND state = 1 AND expires_at > $2",
        )
        .bind(id)
        .bind(at.millis())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }

    pub(super) async fn finish_approval_tx(
        &self,
        id: i64,
        result: &str,
        private: Option<&str>,
        audit_event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let done = sqlx::query(
            "UPDATE approvals SET state = 2, executed_at = $1, result = $2, private_result = $3 \
             WHERE id = $4 AND state = 4",
        )
        .bind(audit_event.at.millis())
        .bind(result)
        .bind(private)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict("approval"));
        }
        audit::append(&mut tx, audit_event).await?;
        tx.commit().await.map_err(db_err)
    }

    pub(super) async fn take_private_result_tx(
        &self,
        id: i64,
        at: Timestamp,
    ) -> Result<Option<String>, StoreError> {
        let mut tx = self.begin().await?;
        let taken: Option<Option<String>> = sqlx::query_scalar(
            "SELECT private_result FROM approvals WHERE id = $1 AND private_result IS NOT NULL",
        )
        .bind(id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        let Some(Some(result)) = taken else {
            return Ok(None);
        };
        // Conditional, so that of two concurrent takers only one sees a row change (PostgreSQL
        // re-reads the row after the other's commit): a private result is taken once.
        let done = sqlx::query(
            "UPDATE approvals SET private_result = NULL, private_taken_at = $1 \
             WHERE id = $2 AND private_result IS NOT NULL",
        )
        .bind(at.millis())
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        tx.commit().await.map_err(db_err)?;
        Ok(Some(result))
    }
}
