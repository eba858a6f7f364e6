//! Reading keys and their lifecycle events, for administrators.

use kms_engine::store::EventRecord;
use serde::Serialize;

use super::view::{KeyView, key_id};
use crate::context::Control;
use crate::error::ControlError;
use crate::system_keys;

#[derive(Serialize)]
pub struct Summary {
    name: String,
    id: String,
    algorithm: &'static str,
    active_version: u32,
}

/// Every key but the KMS's own, by name.
pub async fn list(ctl: &Control) -> Result<Vec<Summary>, ControlError> {
    let mut keys = ctl.store.load_keys().await?;
    keys.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(keys
        .iter()
        .filter(|k| !system_keys::is_reserved(k.name.as_str()))
        .map(|k| Summary {
            name: k.name.to_string(),
            id: k.id.to_string(),
            algorithm: k.algorithm.name(),
            active_version: k.active.get(),
        })
        .collect())
}

/// One key with its versions, grants, policy, usage and history.
pub async fn show(ctl: &Control, name: &str) -> Result<KeyView, ControlError> {
    let id = key_id(ctl, name).await?;
    KeyView::load(ctl, id).await
}

/// Lifecycle events after `after`, oldest first (at most 1000).
pub async fn events(
    ctl: &Control,
    after: i64,
    limit: u32,
) -> Result<Vec<EventRecord>, ControlError> {
    Ok(ctl.store.events(after, limit.min(1000)).await?)
}
