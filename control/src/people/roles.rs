//! Setting a person's roles. Giving someone an administrator role they did not hold waits for
//! approval (the approver roles are in `approvals::action`).

use kms_engine::role::RoleSet;
use kms_engine::store::StoreError;
use serde::{Deserialize, Serialize};

use super::user::{UserView, parse_roles};
use crate::approvals::invocation::Invocation;
use crate::context::Control;
use crate::error::ControlError;

/// What a roles change needs, as an approval request keeps it.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub name: String,
    pub roles: Vec<String>,
}

/// Whether `roles` gives `name` an administrator role they do not hold now (404 for no such
/// user).
pub async fn adds_administrator(
    ctl: &Control,
    name: &str,
    roles: RoleSet,
) -> Result<bool, ControlError> {
    let current = ctl
        .store
        .user(name)
        .await?
        .ok_or(StoreError::NotFound("user"))?;
    Ok(roles
        .iter()
        .any(|r| r.is_administrator() && !current.roles.contains(r)))
}

/// Sets the roles (directly, or once approved) and answers with the user.
pub async fn apply(
    ctl: &Control,
    invocation: &Invocation,
    params: Params,
) -> Result<serde_json::Value, ControlError> {
    let roles = parse_roles(&params.roles)?;
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
    serde_json::to_value(UserView::from(&user)).map_err(ControlError::internal)
}
