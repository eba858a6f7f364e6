//! Voting on a request. The requester cannot vote on their own request, a voter needs one of the
//! action's approver roles, nobody votes twice, a rejection ends it, an expired request takes no
//! votes, and the vote that completes the quorum runs the action, once (the store moves it from
//! pending to executing for exactly one caller), as its requester.

use kms_engine::audit::Outcome;
use kms_engine::directory::Principal;
use kms_engine::people::{ApprovalRecord, Vote};
use kms_engine::store::StoreError;

use super::action::Action;
use super::invocation::Invocation;
use super::request::load;
use crate::context::Control;
use crate::error::ControlError;

/// Records `principal`'s vote on request `id` (`approve` or reject) and, when it completes the
/// quorum, runs the action. Refusals are audited.
pub async fn vote(
    ctl: &Control,
    principal: &Principal,
    invocation: &Invocation,
    id: i64,
    approve: bool,
) -> Result<ApprovalRecord, ControlError> {
    let action = if approve { "approve" } else { "reject" };
    let target = format!("approval:{id}");
    let refuse = |e: ControlError| invocation.refuse(ctl, action, Some(target.clone()), e);
    let Principal::User { name, roles, .. } = principal else {
        let e = ControlError::forbidden(
            "not_an_approver",
            "approvals are given by users, not by tokens",
        );
        return Err(refuse(e).await);
    };
    let record = load(ctl, id).await?;
    let now = ctl.clock.now();
    if record.request.requester == invocation.actor {
        let e = ControlError::forbidden(
            "self_approval",
            "the requester cannot approve or reject their own request",
        );
        return Err(refuse(e).await);
    }
    if !roles.intersects(record.request.approver_roles) {
        let e = ControlError::forbidden(
            "not_an_approver",
            format!(
                "voting on `{}` needs one of the roles: {}",
                record.request.action,
                record.request.approver_roles.to_csv()
            ),
        );
        return Err(refuse(e).await);
    }
    if record.expired(now) {
        let e = ControlError::conflict(
            "approval_expired",
            format!(
                "the request expired at {}",
                record.request.expires_at.rfc3339()
            ),
        );
        return Err(refuse(e).await);
    }
    let event = invocation.event(ctl, action, target, None);
    let ballot = Vote {
        user: name.clone(),
        approve,
        at: now,
    };
    let record = match ctl.store.vote(id, &ballot, &event).await {
        Err(StoreError::AlreadyExists("vote")) => {
            return Err(ControlError::conflict(
                "already_voted",
                "you have already voted on this request",
            ));
        }
        other => other?,
    };
    if !approve || record.approvals() < usize::from(record.request.quorum) {
        return Ok(record);
    }
    // The quorum is met: run it, once.
    if !ctl.store.claim_approval(id, ctl.clock.now()).await? {
        return Ok(record);
    }
    let result = match execute(ctl, &record).await {
        Ok(value) => value,
        Err(e) => {
            serde_json::json!({ "error": { "code": e.code(), "message": e.public_message() } })
        }
    };
    let mut done = ctl.event(
        record.request.requester.clone(),
        "execute_approval",
        Some(format!("approval:{id}")),
        Outcome::Success,
    );
    done.detail = Some(format!(
        "{} {}",
        record.request.action, record.request.target
    ));
    ctl.store
        .finish_approval(id, &result.to_string(), &done)
        .await?;
    Ok(ctl.store.approval(id).await?.unwrap_or(record))
}

/// Runs an approved request (claimed by the caller) as its requester.
async fn execute(
    ctl: &Control,
    record: &ApprovalRecord,
) -> Result<serde_json::Value, ControlError> {
    let invocation = Invocation {
        actor: record.request.requester.clone(),
        remote: None,
        approval: Some(record.id),
    };
    Action::from_stored(&record.request.action, &record.request.params)?
        .run(ctl, &invocation)
        .await
}
