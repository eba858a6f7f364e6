//! A key's life as a whole: rotation (a new active version; the old one decrypt-only), rollback
//! (the previous version active again), and its settings (minimum decryption version, scheduled
//! rotation). Each is one store transaction, served by the data plane before it returns.

use kms_engine::ids::KeyVersion;
use kms_engine::store::{KeyConfig, Rollback};

use super::view::{KeyView, key_id};
use crate::approvals::invocation::Invocation;
use crate::context::Control;
use crate::error::ControlError;
use crate::{durations, keyops};

/// A change's reason, as kept in the key's history: 1 to 1024 characters, not only blanks.
pub fn reason(reason: String) -> Result<String, ControlError> {
    if reason.trim().is_empty() || reason.len() > 1024 {
        return Err(ControlError::invalid(
            "invalid_request",
            "`reason` must be 1 to 1024 characters",
        ));
    }
    Ok(reason)
}

/// Rotates the key named `name`.
pub async fn rotate(
    ctl: &Control,
    invocation: &Invocation,
    name: &str,
    why: &str,
) -> Result<KeyView, ControlError> {
    let event = invocation.event(ctl, "rotate_key", format!("key:{name}"), None);
    let id = key_id(ctl, name).await?;
    let (revision, _) = keyops::rotate(ctl, id, &invocation.actor, why, &event).await?;
    ctl.synced(revision).await;
    KeyView::load(ctl, id).await
}

/// Makes the previous version (the highest decrypt-only one at or above the minimum) active
/// again; the current one becomes decrypt-only. For an emergency: a new version turned out bad.
pub async fn rollback(
    ctl: &Control,
    invocation: &Invocation,
    name: &str,
    why: &str,
) -> Result<KeyView, ControlError> {
    let event = invocation.event(
        ctl,
        "rollback_key",
        format!("key:{name}"),
        Some(format!("reason={why}")),
    );
    let id = key_id(ctl, name).await?;
    let rollback = Rollback {
        key: id,
        at: ctl.clock.now(),
        actor: invocation.actor.clone(),
        reason: why.to_owned(),
    };
    let revision = ctl.store.rollback_key(&rollback, &event).await?;
    ctl.synced(revision).await;
    let view = KeyView::load(ctl, id).await?;
    keyops::event(
        ctl,
        "key_rolled_back",
        id,
        name,
        Some(view.active_version()),
        serde_json::json!({ "actor": invocation.actor, "reason": why }),
    )
    .await;
    Ok(view)
}

/// A settings change as administrators write it; a field left out stays as it is.
#[derive(Debug, Default)]
pub struct ConfigRequest {
    pub min_decryption_version: Option<u32>,
    /// `Some(None)`: scheduled rotation off.
    pub rotation_period: Option<Option<String>>,
    pub notice_period: Option<String>,
}

/// Checks a settings change (400 for nothing to change).
pub fn config(request: ConfigRequest) -> Result<KeyConfig, ControlError> {
    let config = KeyConfig {
        min_decryption_version: request
            .min_decryption_version
            .map(KeyVersion::new)
            .transpose()?,
        rotation_period_ms: request
            .rotation_period
            .map(|p| {
                p.map(|p| durations::parse("rotation_period", &p))
                    .transpose()
            })
            .transpose()?,
        notice_period_ms: request
            .notice_period
            .map(|p| durations::parse("notice_period", &p))
            .transpose()?,
        deletion_allowed: None,
        ..KeyConfig::default()
    };
    if config.is_empty() {
        return Err(ControlError::invalid(
            "invalid_request",
            "nothing to change",
        ));
    }
    Ok(config)
}

/// Applies a checked settings change.
pub async fn configure(
    ctl: &Control,
    invocation: &Invocation,
    name: &str,
    config: &KeyConfig,
    why: &str,
) -> Result<KeyView, ControlError> {
    let event = invocation.event(
        ctl,
        "configure_key",
        format!("key:{name}"),
        Some(format!("reason={why}")),
    );
    let id = key_id(ctl, name).await?;
    let revision = ctl
        .store
        .configure_key(id, config, ctl.clock.now(), &invocation.actor, why, &event)
        .await?;
    ctl.synced(revision).await;
    KeyView::load(ctl, id).await
}
