//! Registering a zone's transport key decides who can open working keys in transit, so it always
//! waits for a quorum of security administrators. The key must be an RSA-3072 public key (SPKI
//! or PKCS#1 PEM).

use kms_engine::store::ZoneRecord;
use kms_engine::zone::{ZoneName, ZonePublicKey};
use serde::{Deserialize, Serialize};

use super::view::ZoneView;
use crate::approvals::invocation::Invocation;
use crate::approvals::ran::Ran;
use crate::context::Control;
use crate::error::ControlError;

/// What a registration needs, as an approval request keeps it.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub name: String,
    pub public_key: String,
}

/// The zone's name and key, checked.
pub fn parse(params: &Params) -> Result<(ZoneName, ZonePublicKey), ControlError> {
    let name = ZoneName::new(&params.name)
        .map_err(|e| ControlError::invalid("invalid_zone", e.to_string()))?;
    let key = ZonePublicKey::from_pem(&params.public_key)
        .map_err(|e| ControlError::invalid("invalid_zone_key", e.to_string()))?;
    Ok((name, key))
}

/// Registers the zone (directly, or once approved).
pub async fn apply(
    ctl: &Control,
    invocation: &Invocation,
    params: Params,
) -> Result<Ran, ControlError> {
    let (name, key) = parse(&params)?;
    let record = ZoneRecord {
        name: name.to_string(),
        public_key_pem: key.to_pem(),
        fingerprint: key.fingerprint(),
        registered_at: ctl.clock.now(),
        registered_by: invocation.actor.clone(),
    };
    let event = invocation.event(
        ctl,
        "register_zone",
        format!("zone:{name}"),
        Some(format!("fingerprint={}", record.fingerprint)),
    );
    ctl.store.register_zone(&record, &event).await?;
    Ran::public(ZoneView::from(&record))
}

/// What an approver sees: the zone and its key's fingerprint (the SHA-256 the zone's nodes
/// print with `kms zone keygen`), never just "a key".
pub fn describe(params: &Params) -> Result<serde_json::Value, ControlError> {
    let (name, key) = parse(params)?;
    Ok(serde_json::json!({
        "zone": name.to_string(),
        "public_key_fingerprint": key.fingerprint(),
    }))
}
