//! `GET /v1/admin/events?after=ID&limit=N` → `{"events":[{"id","at","kind","key","key_id",
//! "version","detail"}]}`: rotation notices, rotations, rollbacks, scheduled and completed
//! destructions, oldest first. The same events go to the configured webhooks.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_control::keys::list::events;
use kms_control::webhooks::event_json;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Query {
    after: Option<i64>,
    limit: Option<u32>,
}

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<Query>,
) -> Result<HttpResponse, ApiError> {
    auth::require_admin(&state, &req, "list_events", None).await?;
    let (after, limit) = (query.after.unwrap_or(0), query.limit.unwrap_or(100));
    let found = state
        .on_control(move |ctl| async move { events(&ctl, after, limit).await })
        .await?;
    let found: Vec<Value> = found.iter().map(event_json).collect();
    Ok(HttpResponse::Ok().json(json!({ "events": found })))
}
