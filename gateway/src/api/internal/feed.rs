//! The change feed, for service nodes' key sync.

use std::time::Duration;

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use crate::error::ApiError;
use crate::state::AppState;
use kms_store::remote::wire::WireChange;

/// The longest long poll a node may ask for.
const MAX_WAIT: Duration = Duration::from_secs(30);
const MAX_CHANGES: u32 = 1000;

/// `GET /internal/v1/revision`
pub async fn revision(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let store = state.control.store.clone();
    let revision = state.io(async move { Ok(store.revision().await?) }).await?;
    Ok(HttpResponse::Ok().json(json!({ "revision": revision })))
}

#[derive(Deserialize)]
pub struct WaitQuery {
    after: u64,
    timeout_ms: u64,
}

/// `GET /internal/v1/changes/wait?after=R&timeout_ms=T`: answers as soon as the store is past
/// revision R, or after T ms with the current revision.
pub async fn wait(
    state: web::Data<AppState>,
    query: web::Query<WaitQuery>,
) -> Result<HttpResponse, ApiError> {
    let store = state.control.store.clone();
    let timeout = Duration::from_millis(query.timeout_ms).min(MAX_WAIT);
    let after = query.after;
    let revision = state
        .io(async move { Ok(store.wait_for_change(after, timeout).await?) })
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "revision": revision })))
}

#[derive(Deserialize)]
pub struct ChangesQuery {
    after: u64,
    limit: Option<u32>,
}

/// `GET /internal/v1/changes?after=R&limit=N`: the commits after revision R, in order.
pub async fn changes(
    state: web::Data<AppState>,
    query: web::Query<ChangesQuery>,
) -> Result<HttpResponse, ApiError> {
    let store = state.control.store.clone();
    let (after, limit) = (
        query.after,
        query.limit.unwrap_or(500).clamp(1, MAX_CHANGES),
    );
    let changes = state
        .io(async move { Ok(store.changes_since(after, limit).await?) })
        .await?;
    let body: Vec<WireChange> = changes.iter().map(WireChange::of).collect();
    Ok(HttpResponse::Ok().json(body))
}
