//! Running ceremonies for custodians: starting one (after checking its quorum can be met at
//! all), approving it, and, at the approval that meets the quorum, executing it once. Every step
//! is audited under the custodian's name.

use std::collections::BTreeMap;

use kms_engine::audit::Outcome;
use kms_engine::role::Role;
use kms_engine::secret::KeyMaterial;

use super::plan::Plan;
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

/// Opens a ceremony for `plan`, started by `who`.
pub async fn start(
    ctl: &Control,
    who: &Custodian,
    plan: Plan,
    remote: Option<String>,
) -> Result<CeremonyView, ControlError> {
    let op = plan.op;
    let users = user_custodians(ctl).await?;
    let view = ctl
        .ceremonies
        .start(plan, who, &users, ctl.clock.as_ref())?;
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

/// Records `who`'s approval (with their component) and, once the quorum is met, executes the
/// ceremony.
pub async fn approve(
    ctl: &Control,
    who: &Custodian,
    id: &str,
    component: Option<KeyMaterial>,
    remote: Option<String>,
) -> Result<Approval, ControlError> {
    let target = format!("ceremony:{id}");
    let (approved, kcv) = ctl
        .ceremonies
        .approve(id, who, component, ctl.clock.as_ref())?;
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
                Err(e)
            }
        },
    }
}
