//! Recording that a pinned node called the internal API, with the readiness and applied revision
//! a service node reports on its feed pulls (`kms_store::remote::report`): kept per node in
//! memory, written to the store's `node_contacts` at most every
//! [`RECORD_EVERY`](super::nodes::RECORD_EVERY) per node (or when the reported readiness
//! changes), off the request's path. `GET /v1/admin/nodes` reads the store, so every store
//! process on one database shows the same.

use std::time::Instant;

use actix_web::http::header::HeaderMap;
use kms_engine::store::NodeContact;
use kms_store::remote::report::{APPLIED_HEADER, NodeReport, STATUS_HEADER};

use super::nodes::Node;
use crate::state::AppState;

/// Called by the guard for each request it lets through.
pub fn seen(state: &AppState, node: &Node, headers: &HeaderMap) {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let status = header(STATUS_HEADER).map(NodeReport::known_status);
    let applied = header(APPLIED_HEADER).and_then(|v| v.parse::<u64>().ok());
    let Some(heard) = state
        .nodes
        .heard(node.fingerprint, status, applied, Instant::now())
    else {
        return;
    };
    let contact = NodeContact {
        fingerprint: node.fingerprint.to_string(),
        zone: node.zone.as_deref().map(str::to_owned),
        last_seen: state.clock.now(),
        status: heard.status.map(str::to_owned),
        applied: heard.applied,
    };
    let store = state.control.store.clone();
    state.io.spawn(async move {
        if let Err(e) = store.record_node_contact(&contact).await {
            tracing::warn!(error = %e, node = %contact.fingerprint,
                "cannot record the node's contact");
        }
    });
}
