//! Credentials and certificate bindings for service nodes (hashes and fingerprints only), and
//! what they send back: usage counts and audit events.

use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use serde_json::json;

use super::nodes::Node;
use crate::error::ApiError;
use crate::state::AppState;
use kms_store::remote::wire::{WireAuditEvent, WireCertificate, WireCredential, WireUsage};

/// `GET /internal/v1/credentials`
pub async fn credentials(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let store = state.control.store.clone();
    let found = state
        .io(async move { Ok(store.load_credentials().await?) })
        .await?;
    let body: Vec<WireCredential> = found.iter().map(WireCredential::of).collect();
    Ok(HttpResponse::Ok().json(body))
}

/// `GET /internal/v1/certificates`
pub async fn certificates(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let store = state.control.store.clone();
    let found = state
        .io(async move { Ok(store.load_certificates().await?) })
        .await?;
    let body: Vec<WireCertificate> = found.iter().map(WireCertificate::of).collect();
    Ok(HttpResponse::Ok().json(body))
}

fn invalid(e: impl std::fmt::Display) -> ApiError {
    ApiError::bad_request("invalid_request", e.to_string())
}

/// `POST /internal/v1/usage`: a service node's usage counts.
pub async fn usage(
    state: web::Data<AppState>,
    body: web::Json<Vec<WireUsage>>,
) -> Result<HttpResponse, ApiError> {
    let records = body
        .iter()
        .map(WireUsage::to_record)
        .collect::<Result<Vec<_>, _>>()
        .map_err(invalid)?;
    let store = state.control.store.clone();
    state
        .io(async move { Ok(store.record_usage(&records).await?) })
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "recorded": body.len() })))
}

/// `POST /internal/v1/audit`: a service node's audit events (refusals), appended to the chain.
/// The store dates them (its clock; the chain gives the sequence) and names the node that sent
/// them first in `detail` (`node=<fingerprint> zone=<zone> node_at=<the node's time, ms>`, then
/// the node's own detail): a node can neither back-date an event nor pass it off as another's.
pub async fn audit(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<Vec<WireAuditEvent>>,
) -> Result<HttpResponse, ApiError> {
    // The guard let only pinned service nodes through, and left the node in the request.
    let Some(node) = req.extensions().get::<Node>().cloned() else {
        return Err(ApiError::internal(&"no node on an internal request"));
    };
    let zone = node.zone.as_deref().unwrap_or("-");
    let now = state.clock.now();
    let events = body
        .iter()
        .map(|wire| {
            let mut event = wire.to_event()?;
            let mut detail = format!("node={} zone={zone} node_at={}", node.fingerprint, wire.at);
            if let Some(theirs) = event.detail.take() {
                detail.push_str("; ");
                detail.push_str(&theirs);
            }
            event.detail = Some(detail);
            event.at = now;
            Ok(event)
        })
        .collect::<Result<Vec<_>, kms_engine::store::StoreError>>()
        .map_err(invalid)?;
    let store = state.control.store.clone();
    state
        .io(async move { Ok(store.append_audit(&events).await?) })
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "recorded": body.len() })))
}
