//! Grants: which operations an app may run on a key. A grant replaces what the app held on the
//! key; an empty one revokes it. A grant that adds an operation waits for approval: whoever
//! holds the app's token would reach the data, so one person must not decide it alone.

use kms_engine::EngineError;
use kms_engine::algorithm::{Operation, OperationSet};
use kms_engine::ids::AppName;
use kms_engine::store::Grant;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::view::key_id;
use crate::approvals::invocation::Invocation;
use crate::approvals::ran::Ran;
use crate::apps::view::find_app;
use crate::context::Control;
use crate::error::ControlError;

/// What a grant needs, as an approval request keeps it.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub key: String,
    pub app: String,
    pub operations: Vec<String>,
}

impl Params {
    pub fn operations(&self) -> Result<OperationSet, ControlError> {
        Ok(self
            .operations
            .iter()
            .map(|o| Operation::parse(o))
            .collect::<Result<_, _>>()?)
    }
}

/// What the app holds on the key now (from the store).
async fn current(ctl: &Control, params: &Params) -> Result<OperationSet, ControlError> {
    let id = key_id(ctl, &params.key).await?;
    let entry = ctl
        .store
        .load_key(id)
        .await?
        .ok_or(EngineError::KeyNotFound)?;
    let app = find_app(ctl, &params.app).await?;
    Ok(entry.grants.get(&app.id).copied().unwrap_or_default())
}

/// Whether the grant gives the app an operation it does not hold now.
pub async fn adds_operations(ctl: &Control, params: &Params) -> Result<bool, ControlError> {
    let new = params.operations()?;
    let old = current(ctl, params).await?;
    Ok(new.iter().any(|o| !old.contains(o)))
}

pub async fn describe(ctl: &Control, params: &Params) -> Result<Value, ControlError> {
    let old = current(ctl, params).await?;
    Ok(json!({
        "key": params.key,
        "app": params.app,
        "current_operations": old.iter().map(|o| o.name()).collect::<Vec<_>>(),
        "requested_operations": params.operations,
    }))
}

/// Sets the app's grant on the key (each operation must be one the key can do).
pub async fn apply(
    ctl: &Control,
    invocation: &Invocation,
    params: Params,
) -> Result<Ran, ControlError> {
    let operations = params.operations()?;
    let app_name = AppName::new(&params.app)?;
    let ops: Vec<&'static str> = operations.iter().map(|o| o.name()).collect();
    let event = invocation.event(
        ctl,
        "grant",
        format!("key:{}", params.key),
        Some(format!("app={app_name} operations=[{}]", ops.join(","))),
    );
    let id = key_id(ctl, &params.key).await?;
    let entry = ctl
        .store
        .load_key(id)
        .await?
        .ok_or(EngineError::KeyNotFound)?;
    if let Some(op) = operations.iter().find(|o| !entry.supports(*o)) {
        return Err(EngineError::OperationNotSupported(op.name()).into());
    }
    let app = find_app(ctl, app_name.as_str()).await?;
    let grant = Grant {
        key: id,
        app: app.id,
        app_name: app.name,
        operations,
        at: ctl.clock.now(),
        actor: invocation.actor.clone(),
    };
    let revision = ctl.store.set_grant(&grant, &event).await?;
    ctl.synced(revision).await;
    Ran::public(json!({ "key": params.key, "app": params.app, "operations": ops }))
}
