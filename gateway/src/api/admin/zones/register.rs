//! `POST /v1/admin/zones` `{"name","public_key"}` → the zone, or 202 with the approval request:
//! registering a zone decides who can open working keys in transit, so a security administrator's
//! request runs once a quorum of other security administrators approves (the root token runs it
//! at once). The key must be an RSA-3072 public key (SPKI or PKCS#1 PEM).

use actix_web::{HttpRequest, HttpResponse, web};
use kms_engine::store::ZoneRecord;
use kms_engine::zone::{ZoneName, ZonePublicKey};
use serde::{Deserialize, Serialize};

use super::ZoneView;
use crate::approvals::{self, Invocation};
use crate::auth;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    name: String,
    public_key: String,
}

fn parse(params: &Params) -> Result<(ZoneName, ZonePublicKey), ApiError> {
    let name = ZoneName::new(&params.name)
        .map_err(|e| ApiError::bad_request("invalid_zone", e.to_string()))?;
    let key = ZonePublicKey::from_pem(&params.public_key)
        .map_err(|e| ApiError::bad_request("invalid_zone_key", e.to_string()))?;
    Ok((name, key))
}

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<Params>,
) -> Result<HttpResponse, ApiError> {
    let target = format!("zone:{}", body.name);
    let caller = auth::require_admin(&state, &req, "register_zone", Some(target.clone())).await?;
    parse(&body)?;
    approvals::run_or_request(
        &state,
        &caller,
        "register_zone",
        target,
        &body.into_inner(),
        true,
        |st, invocation, params| async move { apply(&st, &invocation, params).await },
    )
    .await
}

/// Registers the zone (directly, or once approved).
pub async fn apply(
    state: &AppState,
    invocation: &Invocation,
    params: serde_json::Value,
) -> Result<serde_json::Value, ApiError> {
    let params: Params = approvals::params(params)?;
    let (name, key) = parse(&params)?;
    let record = ZoneRecord {
        name: name.to_string(),
        public_key_pem: key.to_pem(),
        fingerprint: key.fingerprint(),
        registered_at: state.clock.now(),
        registered_by: invocation.actor.clone(),
    };
    let event = invocation.event(
        state,
        "register_zone",
        format!("zone:{name}"),
        format!("fingerprint={}", record.fingerprint),
    );
    state.store.register_zone(&record, &event).await?;
    serde_json::to_value(ZoneView::from(&record)).map_err(|e| ApiError::internal(&e))
}
