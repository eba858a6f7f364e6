//! Setting a person's roles. Any change but adding `auditor` waits for approval (giving someone
//! an administrator or operator role, and taking roles away, change who can act), and no change
//! may leave fewer people than the quorums need (people/floors.rs).

use kms_engine::role::{Role, RoleSet};
use kms_engine::store::StoreError;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::floors;
use super::user::{UserView, parse_roles};
use crate::approvals::invocation::Invocation;
use crate::approvals::ran::Ran;
use crate::context::Control;
use crate::error::ControlError;

/// What a roles change needs, as an approval request keeps it.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub name: String,
    pub roles: Vec<String>,
}

async fn current(ctl: &Control, name: &str) -> Result<RoleSet, ControlError> {
    Ok(ctl
        .store
        .user(name)
        .await?
        .ok_or(StoreError::NotFound("user"))?
        .roles)
}

/// Whether the change does more than add the auditor role (404 for no such user).
pub async fn needs_approval(ctl: &Control, params: &Params) -> Result<bool, ControlError> {
    let new = parse_roles(&params.roles)?;
    let old = current(ctl, &params.name).await?;
    let removes = old.iter().any(|r| !new.contains(r));
    let adds_more_than_auditor = new.iter().any(|r| !old.contains(r) && r != Role::Auditor);
    Ok(removes || adds_more_than_auditor)
}

pub async fn describe(ctl: &Control, params: &Params) -> Result<Value, ControlError> {
    let old = current(ctl, &params.name).await?;
    let new = parse_roles(&params.roles)?;
    Ok(json!({
        "user": params.name,
        "current_roles": old.names(),
        "requested_roles": new.names(),
        "added": new.iter().filter(|r| !old.contains(*r)).map(Role::name).collect::<Vec<_>>(),
        "removed": old.iter().filter(|r| !new.contains(*r)).map(Role::name).collect::<Vec<_>>(),
    }))
}

/// Sets the roles (directly, or once approved) and answers with the user.
pub async fn apply(
    ctl: &Control,
    invocation: &Invocation,
    params: Params,
) -> Result<Ran, ControlError> {
    let roles = parse_roles(&params.roles)?;
    let user = ctl
        .store
        .user(&params.name)
        .await?
        .ok_or(StoreError::NotFound("user"))?;
    floors::check(
        ctl,
        &floors::Change {
            user: &params.name,
            roles,
            disabled: user.disabled,
        },
    )
    .await?;
    let event = invocation.event(
        ctl,
        "set_user_roles",
        format!("user:{}", params.name),
        Some(format!("roles={}", roles.to_csv())),
    );
    let revision = ctl
        .store
        .set_user_roles(&params.name, roles, &event)
        .await?;
    ctl.synced(revision).await;
    let user = ctl
        .store
        .user(&params.name)
        .await?
        .ok_or(StoreError::NotFound("user"))?;
    Ran::public(UserView::from(&user))
}
