//! `GET /v1/admin/audit?actor=&key=&action=&since=&until=&after=&limit=` →
//! `{"entries":[...],"next_after"}`: entries in sequence order, each with its hash and the
//! previous entry's. `since`/`until` are RFC 3339 times; `after` pages (the last `seq` seen);
//! `limit` is 1 to 10000 (default 1000).

use actix_web::{HttpRequest, HttpResponse, web};
use kms_control::audit_query::{Filter, entries, query};
use serde::Deserialize;

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

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<Query>,
) -> Result<HttpResponse, ApiError> {
    auth::require_admin(&state, &req, "read_audit", None).await?;
    let q = q.into_inner();
    let checked = query(Filter {
        actor: q.actor,
        key: q.key,
        action: q.action,
        since: q.since,
        until: q.until,
        after: q.after,
        limit: q.limit,
    })?;
    let (entries, next_after) = state
        .on_control(move |ctl| async move { entries(&ctl, &checked).await })
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "entries": entries,
        "next_after": next_after,
    })))
}
