//! Accounts: creating a person (without credentials: they enrol themselves, people/enrolment.rs),
//! resetting a person's credentials, disabling one, and reading them. A user's request to create,
//! reset or disable waits for approval; the enrolment token of an approved creation or reset is
//! split between the requester and the approver whose vote ran it.

use kms_engine::people::{LoginState, UserRecord};
use kms_engine::store::StoreError;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::enrolment::{self, Handed};
use super::floors;
use super::user::{UserView, check_name, parse_roles};
use crate::approvals::invocation::Invocation;
use crate::approvals::ran::{Mode, Ran};
use crate::context::Control;
use crate::error::ControlError;

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CreateParams {
    pub name: String,
    pub roles: Vec<String>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ResetParams {
    pub name: String,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DisableParams {
    pub name: String,
}

/// Checks a new account before anything is filed or written: its name and its roles.
pub fn check_new(params: &CreateParams) -> Result<(), ControlError> {
    check_name(&params.name)?;
    parse_roles(&params.roles)?;
    Ok(())
}

/// Who gets the enrolment token: the caller of a direct run all of it; of an approved run, the
/// requester the first half and the approver who ran it the second.
fn hand_out(issued: &enrolment::Issued, mode: Mode, public: Value) -> Result<Ran, ControlError> {
    let part = |h: Handed| serde_json::to_value(h).map(|v| json!({ "enrolment": v }));
    let (private, completer) = match mode {
        Mode::Direct => (Some(part(issued.whole())), None),
        Mode::Approved => {
            let (first, second) = issued.halves();
            (Some(part(first)), Some(part(second)))
        }
    };
    Ok(Ran {
        public,
        private: private.transpose().map_err(ControlError::internal)?,
        completer: completer.transpose().map_err(ControlError::internal)?,
    })
}

/// Creates the account, without credentials, and its enrolment.
pub async fn create(
    ctl: &Control,
    invocation: &Invocation,
    params: CreateParams,
    mode: Mode,
) -> Result<Ran, ControlError> {
    check_new(&params)?;
    let roles = parse_roles(&params.roles)?;
    let event = invocation.event(
        ctl,
        "create_user",
        format!("user:{}", params.name),
        Some(format!("roles={}", roles.to_csv())),
    );
    let user = UserRecord {
        name: params.name.clone(),
        roles,
        password_hash: String::new(),
        totp_sealed: Vec::new(),
        login: LoginState::default(),
        disabled: false,
        created_at: ctl.clock.now(),
    };
    let issued = enrolment::issue(ctl, &params.name, &invocation.actor);
    ctl.store
        .create_user(&user, &issued.enrolment, &event)
        .await?;
    let public = json!({
        "user": UserView::from(&user),
        "enrolment_expires_at": issued.enrolment.expires_at.rfc3339(),
    });
    hand_out(&issued, mode, public)
}

/// Ends the person's password, TOTP and sessions, and issues a new enrolment.
pub async fn reset(
    ctl: &Control,
    invocation: &Invocation,
    params: ResetParams,
    mode: Mode,
) -> Result<Ran, ControlError> {
    let event = invocation.event(ctl, "reset_user", format!("user:{}", params.name), None);
    let issued = enrolment::issue(ctl, &params.name, &invocation.actor);
    let revision = ctl
        .store
        .reset_user_credentials(&issued.enrolment, &event)
        .await?;
    ctl.synced(revision).await;
    let public = json!({
        "user": show(ctl, &params.name).await?,
        "enrolment_expires_at": issued.enrolment.expires_at.rfc3339(),
    });
    hand_out(&issued, mode, public)
}

/// Disables the account (its sessions end), unless that leaves fewer people than a quorum needs.
pub async fn disable(
    ctl: &Control,
    invocation: &Invocation,
    params: DisableParams,
) -> Result<Ran, ControlError> {
    let user = ctl
        .store
        .user(&params.name)
        .await?
        .ok_or(StoreError::NotFound("user"))?;
    floors::check(
        ctl,
        &floors::Change {
            user: &params.name,
            roles: user.roles,
            disabled: true,
        },
    )
    .await?;
    let event = invocation.event(ctl, "disable_user", format!("user:{}", params.name), None);
    let revision = ctl
        .store
        .set_user_disabled(&params.name, true, &event)
        .await?;
    ctl.synced(revision).await;
    Ran::public(show(ctl, &params.name).await?)
}

/// What an approver sees of the person a request is about.
pub async fn describe_person(ctl: &Control, name: &str) -> Result<Value, ControlError> {
    serde_json::to_value(show(ctl, name).await?).map_err(ControlError::internal)
}

/// Every account.
pub async fn list(ctl: &Control) -> Result<Vec<UserView>, ControlError> {
    Ok(ctl
        .store
        .users()
        .await?
        .iter()
        .map(UserView::from)
        .collect())
}

/// One account, or 404 `user_not_found`.
pub async fn show(ctl: &Control, name: &str) -> Result<UserView, ControlError> {
    let user = ctl
        .store
        .user(name)
        .await?
        .ok_or(StoreError::NotFound("user"))?;
    Ok(UserView::from(&user))
}
