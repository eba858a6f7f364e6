//! The sensitive actions an approval request can carry, with their parameters as the request
//! keeps them, the roles that may approve each, and what runs once the quorum is met.

use kms_engine::role::{Role, RoleSet};

use super::invocation::Invocation;
use crate::context::Control;
use crate::error::ControlError;
use crate::keys::{export, policy, versions};
use crate::people::roles;
use crate::zones::register;

#[derive(Clone, Debug)]
pub enum Action {
    /// Giving someone roles (an administrator role waits for approval).
    SetUserRoles(roles::Params),
    /// A version's state (scheduling its destruction waits for approval).
    ChangeVersion(versions::Params),
    /// An exportable key's material, wrapped to the requester's key.
    ExportKey(export::Params),
    /// A key's usage policy (loosening it waits for approval).
    SetKeyPolicy(policy::Params),
    /// A zone's transport key.
    RegisterZone(register::Params),
}

impl Action {
    /// The action's name in the access table, the audit log and the request.
    pub fn name(&self) -> String {
        match self {
            Action::SetUserRoles(_) => "set_user_roles".into(),
            Action::ChangeVersion(p) => p.action(),
            Action::ExportKey(_) => "export_key".into(),
            Action::SetKeyPolicy(_) => "set_key_policy".into(),
            Action::RegisterZone(_) => "register_zone".into(),
        }
    }

    /// The approver roles of each sensitive action (none for an action that never waits).
    pub fn approver_roles(name: &str) -> RoleSet {
        match name {
            "set_user_roles" => RoleSet::of(&[Role::SystemAdmin]),
            "schedule_destruction_version" | "export_key" | "set_key_policy" => {
                RoleSet::of(&[Role::KeyAdmin, Role::SecurityAdmin])
            }
            "register_zone" => RoleSet::of(&[Role::SecurityAdmin]),
            _ => RoleSet::EMPTY,
        }
    }

    /// The parameters as the request keeps them (JSON).
    pub fn params(&self) -> Result<serde_json::Value, ControlError> {
        match self {
            Action::SetUserRoles(p) => serde_json::to_value(p),
            Action::ChangeVersion(p) => serde_json::to_value(p),
            Action::ExportKey(p) => serde_json::to_value(p),
            Action::SetKeyPolicy(p) => serde_json::to_value(p),
            Action::RegisterZone(p) => serde_json::to_value(p),
        }
        .map_err(ControlError::internal)
    }

    /// The action a stored request names, with its parameters.
    pub fn from_stored(name: &str, params: &str) -> Result<Self, ControlError> {
        fn parse<P: serde::de::DeserializeOwned>(params: &str) -> Result<P, ControlError> {
            serde_json::from_str(params)
                .map_err(|e| ControlError::invalid("invalid_request", e.to_string()))
        }
        Ok(match name {
            "set_user_roles" => Action::SetUserRoles(parse(params)?),
            "schedule_destruction_version" => Action::ChangeVersion(parse(params)?),
            "export_key" => Action::ExportKey(parse(params)?),
            "set_key_policy" => Action::SetKeyPolicy(parse(params)?),
            "register_zone" => Action::RegisterZone(parse(params)?),
            other => {
                return Err(ControlError::internal(format!(
                    "no executor for approved action `{other}`"
                )));
            }
        })
    }

    /// Runs the action for `invocation` (the caller, or an approved request's requester).
    pub async fn run(
        self,
        ctl: &Control,
        invocation: &Invocation,
    ) -> Result<serde_json::Value, ControlError> {
        match self {
            Action::SetUserRoles(p) => roles::apply(ctl, invocation, p).await,
            Action::ChangeVersion(p) => versions::apply(ctl, invocation, p).await,
            Action::ExportKey(p) => export::apply(ctl, invocation, p).await,
            Action::SetKeyPolicy(p) => policy::apply(ctl, invocation, p).await,
            Action::RegisterZone(p) => register::apply(ctl, invocation, p).await,
        }
    }
}
