//! Running ceremonies for custodians: starting one (after checking its quorum can be met at
//! all), approving it, and, at the approval that meets the quorum, executing it once. Every step
//! is audited under the custodian's name, and so is every refusal; a failed execution is
//! audited under the ceremony's.

use std::collections::BTreeMap;

use kms_engine::audit::Outcome;
use kms_engine::role::Role;
use kms_hsm::components;

use super::plan::{Plan, StartRequest};
use super::registry::{Approved, CeremonyView};
use crate::context::Control;
use crate::custodians::{Custodian, CustodianRole};
use crate::error::ControlError;
use crate::master_keys::{self, Executed};

/// How many enabled people hold each custodian role (a person with both counts as a security
/// administrator), for the up-front quorum check.
pub async fn user_custodians(
    ctl: &Control,
) -> Result<BTreeMap<CustodianRole, usize>, ControlError> {
    let users = ctl.store.users().await?;
    let mut counts = BTreeMap::new();
    for u in users.iter().filter(|u| !u.disabled) {
        let role = if u.roles.contains(Role::SecurityAdmin) {
            CustodianRole::SecurityAdmin
        } else if u.roles.contains(Role::Operator) {
            CustodianRole::Operator
        } else {
            continue;
        };
        *counts.entry(role).or_insert(0) += 1;
    }
    Ok(counts)
}

/// Audits a custodian's successful step.
async fn audit_step(
    ctl: &Control,
    who: &Custodian,
    remote: Option<String>,
    action: &str,
    target: String,
    detail: Option<String>,
) {
    let mut event = ctl.event(
        format!("custodian:{}", who.name),
        action,
        Some(target),
        Outcome::Success,
    );
    event.remote = remote;
    event.detail = detail;
    ctl.audit.record(event).await;
}

/// Audits a custodian's refused step (`Denied`) or a ceremony's failed execution (`Failed`),
/// with the error's code, and hands the error back to answer with.
async fn audit_refusal(
    ctl: &Control,
    actor: String,
    remote: Option<String>,
    action: &str,
    target: Option<String>,
    outcome: Outcome,
    error: ControlError,
) -> ControlError {
    let mut event = ctl.event(actor, action, target, outcome);
    event.code = Some(error.code().to_owned());
    event.remote = remote;
    event.detail = Some(error.public_message());
    ctl.audit.record(event).await;
    error
}

/// Audits a custodian's refused step under their name and hands the error back.
async fn refuse(
    ctl: &Control,
    who: &Custodian,
    remote: Option<String>,
    action: &str,
    target: Option<String>,
    error: ControlError,
) -> ControlError {
    let actor = format!("custodian:{}", who.name);
    audit_refusal(ctl, actor, remote, action, target, Outcome::Denied, error).await
}

/// Opens a ceremony for the plan `request` asks for, started by `who`. A refusal (a bad plan, a
/// quorum that cannot be met, another ceremony open) is audited.
pub async fn start(
    ctl: &Control,
    who: &Custodian,
    request: StartRequest,
    remote: Option<String>,
) -> Result<CeremonyView, ControlError> {
    let opened = async {
        let plan = Plan::from_request(request)?;
        let op = plan.op;
        let users = user_custodians(ctl).await?;
        let view = ctl
            .ceremonies
            .start(plan, who, &users, ctl.clock.as_ref())?;
        Ok::<_, ControlError>((view, op))
    }
    .await;
    let (view, op) = match opened {
        Ok(opened) => opened,
        Err(e) => return Err(refuse(ctl, who, remote, "ceremony_start", None, e).await),
    };
    audit_step(
        ctl,
        who,
        remote,
        "ceremony_start",
        format!("ceremony:{}", view.id),
        Some(format!("operation={}", op.action())),
    )
    .await;
    Ok(view)
}

/// What an approval led to: the ceremony, the KCV of the component the custodian entered, and,
/// for the approval that met the quorum, what the executed ceremony hands back (secrets for
/// this approver only).
pub struct Approval {
    pub ceremony: CeremonyView,
    pub component_kcv: Option<String>,
    pub executed: Option<Executed>,
}

/// Records `who`'s approval (with their component, `component` as the custodian typed it) and,
/// once the quorum is met, executes the ceremony. A refused approval (a malformed or repeated
/// component, a second approval, an unknown, expired or closed ceremony) is audited under the
/// custodian's name; a failed execution under the ceremony's, with what failed.
pub async fn approve(
    ctl: &Control,
    who: &Custodian,
    id: &str,
    component: Option<String>,
    remote: Option<String>,
) -> Result<Approval, ControlError> {
    let target = format!("ceremony:{id}");
    let approved = async {
        let component = component.map(|c| components::parse(&c)).transpose()?;
        ctl.ceremonies
            .approve(id, who, component, ctl.clock.as_ref())
    }
    .await;
    let (approved, kcv) = match approved {
        Ok(approved) => approved,
        Err(e) => {
            return Err(refuse(ctl, who, remote, "ceremony_approve", Some(target), e).await);
        }
    };
    audit_step(
        ctl,
        who,
        remote,
        "ceremony_approve",
        target,
        kcv.as_ref().map(|k| format!("component kcv={k}")),
    )
    .await;
    let component_kcv = kcv.map(|k| k.to_string());
    match approved {
        Approved::Pending(view) => Ok(Approval {
            ceremony: *view,
            component_kcv,
            executed: None,
        }),
        Approved::Ready {
            plan,
            components,
            approvers,
        } => match master_keys::execute(ctl, id, &plan, components, &approvers).await {
            Ok(done) => Ok(Approval {
                ceremony: ctl.ceremonies.finish(id, Ok(done.result.clone()))?,
                component_kcv,
                executed: Some(done),
            }),
            Err(e) => {
                ctl.ceremonies
                    .finish(id, Err((e.code(), e.public_message())))?;
                let target = plan.master_key.as_ref().map(|k| format!("master_key:{k}"));
                Err(audit_refusal(
                    ctl,
                    format!("ceremony:{id}"),
                    None,
                    plan.op.action(),
                    target,
                    Outcome::Failed,
                    e,
                )
                .await)
            }
        },
    }
}
