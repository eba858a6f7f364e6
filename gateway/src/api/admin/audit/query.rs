//! `GET /v1/admin/audit?actor=&key=&action=&since=&until=&after=&limit=` →
//! `{"entries":[...],"next_after"}`: entries in sequence order, each with its hash and the
//! previous entry's. `since`/`until` are RFC 3339 times; `after` pages (the last `seq` seen);
//! `limit` is 1 to 10000 (default 1000).

use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine as _;
use kms_engine::audit::AuditRecord;
use kms_engine::clock::Timestamp;
use kms_engine::store::AuditQuery;
use serde::{Deserialize, Serialize};

use crate::auth;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Query {
    actor: Option<String>,
    key: Option<String>,
    action: Option<String>,
    since: Option<String>,
    until: Option<String>,
    after: Option<u64>,
    limit: Option<u32>,
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

fn time(what: &str, value: Option<&str>) -> Result<Option<Timestamp>, ApiError> {
    value
        .map(|v| {
            Timestamp::parse_rfc3339(v).ok_or_else(|| {
                ApiError::bad_request(
                    "invalid_request",
                    format!("`{what}` must be an RFC 3339 time, e.g. 2026-11-29T10:00:00Z"),
                )
            })
        })
        .transpose()
}

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<Query>,
) -> Result<HttpResponse, ApiError> {
    auth::require_admin(&state, &req, "read_audit", None).await?;
    let q = query.into_inner();
    let query = AuditQuery {
        actor: q.actor,
        action: q.action,
        target: q.key.map(|k| format!("key:{k}")),
        since: time("since", q.since.as_deref())?,
        until: time("until", q.until.as_deref())?,
        after_seq: q.after,
        limit: q.limit.unwrap_or(1000).clamp(1, 10_000),
    };
    let st = state.clone().into_inner();
    let found = state
        .io(async move { Ok(st.store.audit_log(&query).await?) })
        .await?;
    let entries: Vec<EntryView> = found.iter().map(EntryView::from).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "entries": entries,
        "next_after": found.last().map(|r| r.seq),
    })))
}
