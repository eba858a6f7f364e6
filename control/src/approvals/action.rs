//! The sensitive actions an approval request can carry, with their parameters as the request
//! keeps them, the roles that may approve each, when each must wait for approval, what an
//! approver is shown, and what runs once the quorum is met.
//!
//! The rule (docs/access-control.md, "Dual control"): no one person reaches business data, an
//! account's credentials or the master key alone. So everything that could hand one person
//! plaintext (a grant that adds an operation, an app's new token or certificate, an export, a
//! backup), every change to who may act (creating, resetting, disabling people, changing their
//! roles beyond adding `auditor`), and everything that widens who can read keys in transit or at
//! rest (zones, loosened policies, destructions) waits for a quorum of other people.

use serde_json::Value;

use super::authorization;
use super::invocation::Invocation;
use super::ran::{Mode, Ran};
use crate::apps::tokens::{self, BindParams, RotateParams};
use crate::backup::take::{self, AuthorizeParams};
use crate::context::Control;
use crate::error::ControlError;
use crate::keys::{
    export, grants, policy, transit_backup, transit_export, transit_restore, versions,
};
use crate::people::accounts::{self, CreateParams, DisableParams, ResetParams};
use crate::people::roles;
use crate::zones::register;

#[derive(Clone, Debug)]
pub enum Action {
    /// Giving someone roles.
    SetUserRoles(roles::Params),
    /// A new person (their enrolment token split between requester and approver).
    CreateUser(CreateParams),
    /// A person's credentials ended and a new enrolment issued.
    ResetUser(ResetParams),
    /// A person disabled (their sessions end).
    DisableUser(DisableParams),
    /// A version's state.
    ChangeVersion(versions::Params),
    /// An exportable key's material, wrapped to the requester's key.
    ExportKey(export::Params),
    /// A key's usage policy.
    SetKeyPolicy(policy::Params),
    /// A zone's transport key.
    RegisterZone(register::Params),
    /// An app's operations on a key.
    Grant(grants::Params),
    /// A new token for an app, for the requester.
    RotateAppToken(RotateParams),
    /// A client certificate for an app.
    BindAppCertificate(BindParams),
    /// One backup of the whole store, for the requester.
    AuthorizeBackup(AuthorizeParams),
    /// Vault Transit's export of an exportable key's plaintext material, for the requester's
    /// next identical call (approvals/gate.rs).
    TransitExport(transit_export::Params),
    /// Vault Transit's backup of one key (its material wrapped under the master key).
    BackupKey(transit_backup::Params),
    /// Vault Transit's restore of one key from a backup.
    RestoreKey(transit_restore::Params),
}

impl Action {
    /// The action's name in the access table, the audit log and the request.
    pub fn name(&self) -> String {
        match self {
            Action::SetUserRoles(_) => "set_user_roles".into(),
            Action::CreateUser(_) => "create_user".into(),
            Action::ResetUser(_) => "reset_user".into(),
            Action::DisableUser(_) => "disable_user".into(),
            Action::ChangeVersion(p) => p.action(),
            Action::ExportKey(_) => "export_key".into(),
            Action::SetKeyPolicy(_) => "set_key_policy".into(),
            Action::RegisterZone(_) => "register_zone".into(),
            Action::Grant(_) => "grant".into(),
            Action::RotateAppToken(_) => "rotate_app_token".into(),
            Action::BindAppCertificate(_) => "bind_app_certificate".into(),
            Action::AuthorizeBackup(_) => "backup".into(),
            Action::TransitExport(_) => "transit_export_key".into(),
            Action::BackupKey(_) => "transit_backup_key".into(),
            Action::RestoreKey(_) => "transit_restore_key".into(),
        }
    }

    /// Whether a user (not the root token) must wait for approval to run this.
    pub async fn needs_approval(&self, ctl: &Control) -> Result<bool, ControlError> {
        Ok(match self {
            Action::SetUserRoles(p) => roles::needs_approval(ctl, p).await?,
            Action::ChangeVersion(p) => p.which == "schedule_destruction",
            Action::SetKeyPolicy(p) => policy::loosens_spec(ctl, p)?,
            Action::Grant(p) => grants::adds_operations(ctl, p).await?,
            Action::CreateUser(_)
            | Action::ResetUser(_)
            | Action::DisableUser(_)
            | Action::ExportKey(_)
            | Action::RegisterZone(_)
            | Action::RotateAppToken(_)
            | Action::BindAppCertificate(_)
            | Action::AuthorizeBackup(_)
            | Action::TransitExport(_)
            | Action::BackupKey(_)
            | Action::RestoreKey(_) => true,
        })
    }

    /// The parameters as the request keeps them (JSON).
    pub fn params(&self) -> Result<Value, ControlError> {
        match self {
            Action::SetUserRoles(p) => serde_json::to_value(p),
            Action::CreateUser(p) => serde_json::to_value(p),
            Action::ResetUser(p) => serde_json::to_value(p),
            Action::DisableUser(p) => serde_json::to_value(p),
            Action::ChangeVersion(p) => serde_json::to_value(p),
            Action::ExportKey(p) => serde_json::to_value(p),
            Action::SetKeyPolicy(p) => serde_json::to_value(p),
            Action::RegisterZone(p) => serde_json::to_value(p),
            Action::Grant(p) => serde_json::to_value(p),
            Action::RotateAppToken(p) => serde_json::to_value(p),
            Action::BindAppCertificate(p) => serde_json::to_value(p),
            Action::AuthorizeBackup(p) => serde_json::to_value(p),
            Action::TransitExport(p) => serde_json::to_value(p),
            Action::BackupKey(p) => serde_json::to_value(p),
            Action::RestoreKey(p) => serde_json::to_value(p),
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
            "create_user" => Action::CreateUser(parse(params)?),
            "reset_user" => Action::ResetUser(parse(params)?),
            "disable_user" => Action::DisableUser(parse(params)?),
            "schedule_destruction_version" => Action::ChangeVersion(parse(params)?),
            "export_key" => Action::ExportKey(parse(params)?),
            "set_key_policy" => Action::SetKeyPolicy(parse(params)?),
            "register_zone" => Action::RegisterZone(parse(params)?),
            "grant" => Action::Grant(parse(params)?),
            "rotate_app_token" => Action::RotateAppToken(parse(params)?),
            "bind_app_certificate" => Action::BindAppCertificate(parse(params)?),
            "backup" => Action::AuthorizeBackup(parse(params)?),
            "transit_export_key" => Action::TransitExport(parse(params)?),
            "transit_backup_key" => Action::BackupKey(parse(params)?),
            "transit_restore_key" => Action::RestoreKey(parse(params)?),
            other => {
                return Err(ControlError::internal(format!(
                    "no executor for approved action `{other}`"
                )));
            }
        })
    }

    /// What an approver is shown besides the parameters: the state the action changes, as it is
    /// now, and what it would be (roles before and after, the policy now, a public key's
    /// fingerprint).
    pub async fn describe(&self, ctl: &Control) -> Value {
        let described = match self {
            Action::SetUserRoles(p) => roles::describe(ctl, p).await,
            Action::CreateUser(p) => Ok(serde_json::json!({ "user": p.name, "roles": p.roles })),
            Action::ResetUser(p) => accounts::describe_person(ctl, &p.name).await,
            Action::DisableUser(p) => accounts::describe_person(ctl, &p.name).await,
            Action::ChangeVersion(p) => versions::describe(ctl, p).await,
            Action::ExportKey(p) => export::describe(p),
            Action::SetKeyPolicy(p) => policy::describe(ctl, p),
            Action::RegisterZone(p) => register::describe(p),
            Action::Grant(p) => grants::describe(ctl, p).await,
            Action::RotateAppToken(p) => tokens::describe_rotation(ctl, p).await,
            Action::BindAppCertificate(p) => Ok(serde_json::json!({
                "app": p.app, "fingerprint": p.fingerprint,
            })),
            Action::AuthorizeBackup(_) => take::describe(ctl).await,
            Action::TransitExport(p) => transit_export::describe(p),
            Action::BackupKey(p) => Ok(serde_json::json!({
                "key": p.name,
                "what": "a backup of the key (every version, wrapped under the master key), to the requester alone, once, through the Vault Transit API",
            })),
            Action::RestoreKey(p) => transit_restore::describe(ctl, p).await,
        };
        described.unwrap_or_else(
            |e| serde_json::json!({ "error": { "code": e.code(), "message": e.public_message() } }),
        )
    }

    /// Runs the action for `invocation` (the caller, or an approved request's requester).
    pub async fn run(
        self,
        ctl: &Control,
        invocation: &Invocation,
        mode: Mode,
    ) -> Result<Ran, ControlError> {
        match self {
            Action::SetUserRoles(p) => roles::apply(ctl, invocation, p).await,
            Action::CreateUser(p) => accounts::create(ctl, invocation, p, mode).await,
            Action::ResetUser(p) => accounts::reset(ctl, invocation, p, mode).await,
            Action::DisableUser(p) => accounts::disable(ctl, invocation, p).await,
            Action::ChangeVersion(p) => versions::apply(ctl, invocation, p).await,
            Action::ExportKey(p) => export::apply(ctl, invocation, p, mode).await,
            Action::SetKeyPolicy(p) => policy::apply(ctl, invocation, p).await,
            Action::RegisterZone(p) => register::apply(ctl, invocation, p).await,
            Action::Grant(p) => grants::apply(ctl, invocation, p).await,
            Action::RotateAppToken(p) => tokens::rotate(ctl, invocation, p, mode).await,
            Action::BindAppCertificate(p) => tokens::bind_certificate(ctl, invocation, p).await,
            Action::AuthorizeBackup(_) => take::authorize(ctl, invocation).await,
            Action::TransitExport(p) => {
                authorization::authorize(ctl, invocation, "transit_export_key", key_target(&p.name))
                    .await
            }
            Action::BackupKey(p) => {
                authorization::authorize(ctl, invocation, "transit_backup_key", key_target(&p.name))
                    .await
            }
            Action::RestoreKey(p) => {
                let target = transit_restore::target(p.name.as_deref());
                authorization::authorize(ctl, invocation, "transit_restore_key", target).await
            }
        }
    }
}

fn key_target(name: &str) -> String {
    format!("key:{name}")
}
