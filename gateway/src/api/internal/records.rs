//! Credentials and certificate bindings for service nodes (hashes and fingerprints only), and
//! what they send back: usage counts and audit events.

use actix_web::{HttpResponse, web};
use serde_json::json;

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
pub async fn audit(
    state: web::Data<AppState>,
    body: web::Json<Vec<WireAuditEvent>>,
) -> Result<HttpResponse, ApiError> {
    let events = body
        .iter()
        .map(WireAuditEvent::to_event)
        .collect::<Result<Vec<_>, _>>()
        .map_err(invalid)?;
    let store = state.control.store.clone();
    state
        .io(async move { Ok(store.append_audit(&events).await?) })
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "recorded": body.len() })))
}
