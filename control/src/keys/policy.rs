//! A key's usage policy (see kms-engine `policy/`); an empty one removes it. Loosening a policy
//! (removing it, or a new one that allows anything the old one refused) waits for approval.

use kms_engine::EngineError;
use kms_engine::policy::{PolicySpec, UsagePolicy};
use kms_engine::store::PolicyChange;
use serde::{Deserialize, Serialize};

use super::view::key_id;
use crate::approvals::invocation::Invocation;
use crate::approvals::ran::Ran;
use crate::context::Control;
use crate::error::ControlError;

/// What a policy change needs, as an approval request keeps it.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub name: String,
    pub policy: PolicySpec,
}

/// Whether `new` would allow anything the key's current policy refuses (the directory's view).
pub fn loosens(ctl: &Control, name: &str, new: &UsagePolicy) -> Result<bool, ControlError> {
    let old = ctl
        .directory
        .load()
        .key(name)
        .ok_or(EngineError::KeyNotFound)?
        .policy
        .as_ref()
        .map(|p| p.policy.clone())
        .unwrap_or_default();
    Ok(!new.at_least_as_strict_as(&old))
}

/// Whether the requested policy loosens the key's current one.
pub fn loosens_spec(ctl: &Control, params: &Params) -> Result<bool, ControlError> {
    loosens(ctl, &params.name, &UsagePolicy::parse(&params.policy)?)
}

/// The policy now and the one requested.
pub fn describe(ctl: &Control, params: &Params) -> Result<serde_json::Value, ControlError> {
    let current = ctl
        .directory
        .load()
        .key(&params.name)
        .ok_or(EngineError::KeyNotFound)?
        .policy
        .as_ref()
        .map(|p| p.policy.spec());
    Ok(serde_json::json!({
        "key": params.name,
        "current_policy": current,
        "requested_policy": params.policy,
        "loosens": loosens_spec(ctl, params)?,
    }))
}

/// Sets the policy (directly, or once approved).
pub async fn apply(
    ctl: &Control,
    invocation: &Invocation,
    params: Params,
) -> Result<Ran, ControlError> {
    let Params { name, policy } = params;
    let policy = UsagePolicy::parse(&policy)?;
    let policy = (!policy.is_empty()).then_some(policy);
    let event = invocation.event(
        ctl,
        "set_key_policy",
        format!("key:{name}"),
        Some(
            policy
                .as_ref()
                .map_or_else(|| "removed".to_owned(), UsagePolicy::to_stored),
        ),
    );
    let shown = policy.as_ref().map(UsagePolicy::spec);
    let change = PolicyChange {
        key: key_id(ctl, &name).await?,
        policy,
        at: ctl.clock.now(),
        actor: invocation.actor.clone(),
    };
    let revision = ctl.store.set_key_policy(&change, &event).await?;
    ctl.synced(revision).await;
    Ran::public(serde_json::json!({ "key": name, "policy": shown }))
}
