//! `GET /v1/admin/nodes` → every node the store's configuration pins on its internal listener
//! (`[internal] manage_nodes`, `[internal.zone_nodes]`), also those never seen, with what the
//! store last heard from each: when, the readiness and applied revision it reported, its lag
//! behind the store's revision, and a status (`never_seen`, `stale`, `ok`;
//! `kms_control::zones::nodes`).

use actix_web::{HttpRequest, HttpResponse, web};
use kms_control::zones::nodes::{Pinned, STALE_AFTER, views};
use serde_json::json;

use crate::auth;
use crate::error::ApiError;
use crate::state::AppState;

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    auth::require_admin(&state, &req, "list_nodes", None).await?;
    let pinned: Vec<Pinned> = state
        .nodes
        .pinned()
        .into_iter()
        .map(|n| Pinned {
            fingerprint: n.fingerprint.to_string(),
            manage: n.manage,
            zone: n.zone.as_deref().map(str::to_owned),
        })
        .collect();
    let store = state.control.store.clone();
    let (contacts, revision) = state
        .io(async move { Ok((store.node_contacts().await?, store.revision().await?)) })
        .await?;
    let nodes = views(&pinned, &contacts, revision, state.clock.now());
    Ok(HttpResponse::Ok().json(json!({
        "revision": revision,
        "stale_after_seconds": STALE_AFTER.as_secs(),
        "nodes": nodes,
    })))
}
