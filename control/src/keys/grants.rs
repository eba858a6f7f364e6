//! Grants: which operations an app may run on a key. A grant replaces what the app held on the
//! key; an empty one revokes it.

use kms_engine::EngineError;
use kms_engine::algorithm::OperationSet;
use kms_engine::ids::AppName;
use kms_engine::store::Grant;

use super::view::key_id;
use crate::approvals::invocation::Invocation;
use crate::apps::view::find_app;
use crate::context::Control;
use crate::error::ControlError;

/// Sets `app`'s grant on the key named `key` (each operation must be one the key can do).
pub async fn grant(
    ctl: &Control,
    invocation: &Invocation,
    key: &str,
    app: &AppName,
    operations: OperationSet,
) -> Result<(), ControlError> {
    let ops: Vec<&'static str> = operations.iter().map(|o| o.name()).collect();
    let event = invocation.event(
        ctl,
        "grant",
        format!("key:{key}"),
        Some(format!("app={app} operations=[{}]", ops.join(","))),
    );
    let id = key_id(ctl, key).await?;
    let entry = ctl
        .store
        .load_key(id)
        .await?
        .ok_or(EngineError::KeyNotFound)?;
    if let Some(op) = operations.iter().find(|o| !entry.supports(*o)) {
        return Err(EngineError::OperationNotSupported(op.name()).into());
    }
    let app = find_app(ctl, app.as_str()).await?;
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
    Ok(())
}
