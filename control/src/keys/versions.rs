//! One version's state, each change with a reason kept in the key's history: disable
//! (decrypt-only → disabled), enable (disabled → decrypt-only), schedule destruction
//! (decrypt-only or disabled → scheduled, after a delay; waits for approval) and cancel
//! destruction (scheduled → disabled). The active version cannot be changed here: rotate or roll
//! back first.

use kms_engine::clock::Timestamp;
use kms_engine::ids::KeyVersion;
use kms_engine::store::{VersionAction, VersionChange};
use serde::{Deserialize, Serialize};

use super::view::{KeyView, key_id};
use crate::approvals::invocation::Invocation;
use crate::approvals::ran::Ran;
use crate::context::Control;
use crate::error::ControlError;
use crate::{durations, keyops};

/// Seven days.
pub const DEFAULT_DELAY: &str = "7d";

/// What a version change needs, as an approval request keeps it.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub name: String,
    pub version: u32,
    /// `disable`, `enable`, `schedule_destruction` or `cancel_destruction`.
    pub which: String,
    pub reason: String,
    pub delay: String,
}

impl Params {
    /// The action's name in the access table and the audit log: `{which}_version`.
    pub fn action(&self) -> String {
        format!("{}_version", self.which)
    }
}

/// Changes the version (directly, or once approved) and answers with the key.
pub async fn apply(
    ctl: &Control,
    invocation: &Invocation,
    params: Params,
) -> Result<Ran, ControlError> {
    let action_name = params.action();
    let Params {
        name,
        version,
        which,
        reason: why,
        delay,
    } = params;
    let version = KeyVersion::new(version)?;
    let now = ctl.clock.now();
    let action = match which.as_str() {
        "disable" => VersionAction::Disable,
        "enable" => VersionAction::Enable,
        "cancel_destruction" => VersionAction::CancelDestruction,
        _ => VersionAction::ScheduleDestruction {
            destroy_at: Timestamp::from_millis(now.millis() + durations::parse("delay", &delay)?),
        },
    };
    let event = invocation.event(
        ctl,
        &action_name,
        format!("key:{name}"),
        Some(format!("version={version} reason={why}")),
    );
    let actor = invocation.actor.clone();
    let id = key_id(ctl, &name).await?;
    let change = VersionChange {
        key: id,
        version,
        action,
        at: now,
        actor: actor.clone(),
        reason: why.clone(),
    };
    let revision = ctl.store.change_version(&change, &event).await?;
    ctl.synced(revision).await;
    if let VersionAction::ScheduleDestruction { destroy_at } = action {
        keyops::event(
            ctl,
            "version_destruction_scheduled",
            id,
            &name,
            Some(version),
            serde_json::json!({ "actor": actor, "reason": why, "destroy_at": destroy_at.rfc3339() }),
        )
        .await;
    }
    Ran::public(KeyView::load(ctl, id).await?)
}

/// The version as it is now, and what the change does to it.
pub async fn describe(ctl: &Control, params: &Params) -> Result<serde_json::Value, ControlError> {
    let id = key_id(ctl, &params.name).await?;
    let key = ctl
        .store
        .load_key(id)
        .await?
        .ok_or(kms_engine::EngineError::KeyNotFound)?;
    let version = KeyVersion::new(params.version)?;
    let state = key.version(version).map(|v| v.state.name());
    Ok(serde_json::json!({
        "key": params.name,
        "version": params.version,
        "version_state": state,
        "active_version": key.active.get(),
        "change": params.which,
        "delay": params.delay,
        "reason": params.reason,
    }))
}
