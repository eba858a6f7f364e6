//! The hash-chained audit log. The chain head (last sequence number and hash) lives in
//! `store_meta`, updated in the same transaction as each append.

use kms_engine::audit::{self, AuditEvent, AuditRecord, Outcome};
use kms_engine::people::AuditSeal;
use kms_engine::store::{AuditQuery, StoreError};
use sqlx::Row;

use super::{DbRow, Pool, Tx};
use super::errors::db_err;
use crate::rows::{self, corrupt};

pub async fn append(tx: &mut Tx, e: &AuditEvent) -> Result<(), StoreError> {
    let row = sqlx::query("SELECT audit_seq, audit_head FROM store_meta WHERE id = 1")
        .fetch_one(&mut **tx)
        .await
        .map_err(db_err)?;
    let seq = u64::try_from(row.get::<i64, _>("audit_seq"))
        .map_err(|_| corrupt("negative audit sequence"))?
        + 1;
    let prev = <[u8; 32]>::try_from(row.get::<Vec<u8>, _>("audit_head").as_slice())
        .map_err(|_| corrupt("audit head is not 32 bytes"))?;
    let hash = audit::chain_hash(&prev, seq, e);
    let seq = rows::to_i64(seq);
    sqlx::query(
        "INSERT INTO audit (seq, at, actor, action, target, outcome, code, remote, detail, \
         prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(seq)
    .bind(e.at.millis())
    .bind(&e.actor)
    .bind(&e.action)
    .bind(&e.target)
    .bind(i64::from(e.outcome.code()))
    .bind(&e.code)
    .bind(&e.remote)
    .bind(&e.detail)
    .bind(prev.to_vec())
    .bind(hash.to_vec())
    .execute(&mut **tx)
    .await
    .map_err(db_err)?;
    sqlx::query("UPDATE store_meta SET audit_seq = $1, audit_head = $2 WHERE id = 1")
        .bind(seq)
        .bind(hash.to_vec())
        .execute(&mut **tx)
        .await
        .map_err(db_err)?;
    Ok(())
}

pub async fn query(pool: &Pool, q: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError> {
    let limit = if q.limit == 0 {
        1000
    } else {
        q.limit.min(10_000)
    };
    let found = sqlx::query(
        "SELECT seq, at, actor, action, target, outcome, code, remote, detail, prev_hash, hash \
         FROM audit WHERE ($1 IS NULL OR actor = $1) AND ($2 IS NULL OR action = $2) \
         AND ($3 IS NULL OR target = $3) AND seq > $4 AND ($6 IS NULL OR at >= $6) \
         AND ($7 IS NULL OR at < $7) ORDER BY seq LIMIT $5",
    )
    .bind(&q.actor)
    .bind(&q.action)
    .bind(&q.target)
    .bind(rows::to_i64(q.after_seq.unwrap_or(0)))
    .bind(i64::from(limit))
    .bind(q.since.map(|t| t.millis()))
    .bind(q.until.map(|t| t.millis()))
    .fetch_all(pool)
    .await
    .map_err(db_err)?;
    found
        .iter()
        .map(|row| {
            Ok(AuditRecord {
                seq: u64::try_from(row.get::<i64, _>("seq"))
                    .map_err(|_| corrupt("negative audit sequence"))?,
                event: AuditEvent {
                    at: rows::ts(row.get("at")),
                    actor: row.get("actor"),
                    action: row.get("action"),
                    target: row.get("target"),
                    outcome: Outcome::from_code(row.get("outcome"))
                        .ok_or_else(|| corrupt("unknown audit outcome"))?,
                    code: row.get("code"),
                    remote: row.get("remote"),
                    detail: row.get("detail"),
                },
                prev_hash: hash32(row, "prev_hash")?,
                hash: hash32(row, "hash")?,
            })
        })
        .collect()
}

fn hash32(row: &DbRow, col: &str) -> Result<[u8; 32], StoreError> {
    <[u8; 32]>::try_from(row.get::<Vec<u8>, _>(col).as_slice())
        .map_err(|_| corrupt(format!("audit {col} is not 32 bytes")))
}

pub async fn head(pool: &Pool) -> Result<(u64, [u8; 32]), StoreError> {
    let row = sqlx::query("SELECT audit_seq, audit_head FROM store_meta WHERE id = 1")
        .fetch_one(pool)
        .await
        .map_err(db_err)?;
    let seq = u64::try_from(row.get::<i64, _>("audit_seq"))
        .map_err(|_| corrupt("negative audit sequence"))?;
    Ok((seq, hash32(&row, "audit_head")?))
}

/// Every seal, or only the last.
pub async fn seals(pool: &Pool, last: bool) -> Result<Vec<AuditSeal>, StoreError> {
    let sql = if last {
        "SELECT seq, head, mac, at FROM audit_seals ORDER BY seq DESC LIMIT 1"
    } else {
        "SELECT seq, head, mac, at FROM audit_seals ORDER BY seq"
    };
    sqlx::query(sql)
        .fetch_all(pool)
        .await
        .map_err(db_err)?
        .iter()
        .map(|row| {
            Ok(AuditSeal {
                seq: u64::try_from(row.get::<i64, _>("seq"))
                    .map_err(|_| corrupt("negative seal sequence"))?,
                head: hash32(row, "head")?,
                mac: hash32(row, "mac")?,
                at: rows::ts(row.get("at")),
            })
        })
        .collect()
}

pub async fn seal_count(pool: &Pool) -> Result<u64, StoreError> {
    let n: i64 = sqlx::query("SELECT COUNT(*) FROM audit_seals")
        .fetch_one(pool)
        .await
        .map_err(db_err)?
        .get(0);
    u64::try_from(n).map_err(|_| corrupt("negative seal count"))
}

/// Records a seal; sealing the same head twice keeps the first.
pub async fn add_seal(pool: &Pool, seal: &AuditSeal) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO audit_seals (seq, head, mac, at) VALUES ($1, $2, $3, $4) ON CONFLICT (seq) DO NOTHING")
        .bind(rows::to_i64(seal.seq))
        .bind(seal.head.to_vec())
        .bind(seal.mac.to_vec())
        .bind(seal.at.millis())
        .execute(pool)
        .await
        .map_err(db_err)?;
    Ok(())
}
