//! Reading the audit log, for auditors: entries in sequence order, each with its hash and the
//! previous entry's.

use base64::Engine as _;
use kms_engine::audit::AuditRecord;
use kms_engine::clock::Timestamp;
use kms_engine::store::AuditQuery;
use serde::Serialize;

use crate::context::Control;
use crate::error::ControlError;

/// What an auditor filters by; times are RFC 3339.
#[derive(Debug, Default)]
pub struct Filter {
    pub actor: Option<String>,
    pub key: Option<String>,
    pub action: Option<String>,
    pub since: Option<String>,
    pub until: Option<String>,
    /// The last `seq` seen (pages).
    pub after: Option<u64>,
    /// 1 to 10000 (default 1000).
    pub limit: Option<u32>,
}

#[derive(Serialize)]
pub struct EntryView {
    seq: u64,
    at: String,
    actor: String,
    action: String,
    target: Option<String>,
    outcome: &'static str,
    code: Option<String>,
    remote: Option<String>,
    detail: Option<String>,
    prev_hash: String,
    hash: String,
}

impl From<&AuditRecord> for EntryView {
    fn from(r: &AuditRecord) -> Self {
        let b64 = |h: &[u8; 32]| base64::engine::general_purpose::STANDARD.encode(h);
        Self {
            seq: r.seq,
            at: r.event.at.rfc3339(),
            actor: r.event.actor.clone(),
            action: r.event.action.clone(),
            target: r.event.target.clone(),
            outcome: r.event.outcome.name(),
            code: r.event.code.clone(),
            remote: r.event.remote.clone(),
            detail: r.event.detail.clone(),
            prev_hash: b64(&r.prev_hash),
            hash: b64(&r.hash),
        }
    }
}

fn time(what: &str, value: Option<&str>) -> Result<Option<Timestamp>, ControlError> {
    value
        .map(|v| {
            Timestamp::parse_rfc3339(v).ok_or_else(|| {
                ControlError::invalid(
                    "invalid_request",
                    format!("`{what}` must be an RFC 3339 time, e.g. 2026-11-29T10:00:00Z"),
                )
            })
        })
        .transpose()
}

/// Checks a filter (400 for a time that is not RFC 3339).
pub fn query(filter: Filter) -> Result<AuditQuery, ControlError> {
    Ok(AuditQuery {
        since: time("since", filter.since.as_deref())?,
        until: time("until", filter.until.as_deref())?,
        actor: filter.actor,
        action: filter.action,
        target: filter.key.map(|k| format!("key:{k}")),
        after_seq: filter.after,
        limit: filter.limit.unwrap_or(1000).clamp(1, 10_000),
    })
}

/// The entries a checked filter selects, and the `after` that pages on (the last `seq`).
pub async fn entries(
    ctl: &Control,
    query: &AuditQuery,
) -> Result<(Vec<EntryView>, Option<u64>), ControlError> {
    let found = ctl.store.audit_log(query).await?;
    Ok((
        found.iter().map(EntryView::from).collect(),
        found.last().map(|r| r.seq),
    ))
}
