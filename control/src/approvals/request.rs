//! Filing a sensitive action as a request that waits for approval, reading requests, and the
//! requester collecting what a run left for them alone.

use kms_engine::audit::Outcome;
use kms_engine::clock::Timestamp;
use kms_engine::people::{ApprovalRecord, ApprovalState, NewApproval};
use serde_json::Value;

use super::action::Action;
use super::approvers;
use super::invocation::Invocation;
use crate::context::Control;
use crate::error::ControlError;

/// Files `action` on `target` for `invocation`'s caller; the new request waits for its votes.
pub async fn request(
    ctl: &Control,
    invocation: &Invocation,
    action: &Action,
    target: String,
) -> Result<ApprovalRecord, ControlError> {
    let now = ctl.clock.now();
    let ttl = i64::try_from(ctl.access.approval_ttl.as_millis()).unwrap_or(i64::MAX);
    let name = action.name();
    let approval = NewApproval {
        approver_roles: approvers::approver_roles(&name),
        action: name,
        target,
        params: action.params()?.to_string(),
        requester: invocation.actor.clone(),
        quorum: ctl.access.approval_quorum,
        created_at: now,
        expires_at: Timestamp::from_millis(now.millis().saturating_add(ttl)),
    };
    let mut event = ctl.event(
        invocation.actor.clone(),
        "request_approval",
        None,
        Outcome::Success,
    );
    event.remote.clone_from(&invocation.remote);
    let id = ctl.store.create_approval(&approval, &event).await?;
    // A new request: pending, no votes yet.
    Ok(ApprovalRecord {
        id,
        request: approval,
        state: ApprovalState::Pending,
        votes: Vec::new(),
        executed_at: None,
        result: None,
        private_pending: false,
    })
}

/// One request, or 404 `approval_not_found`.
pub async fn load(ctl: &Control, id: i64) -> Result<ApprovalRecord, ControlError> {
    ctl.store.approval(id).await?.ok_or_else(|| {
        ControlError::not_found("approval_not_found", format!("no approval request {id}"))
    })
}

/// Requests, newest first (only pending ones with `pending`).
pub async fn list(
    ctl: &Control,
    pending: bool,
    limit: u32,
) -> Result<Vec<ApprovalRecord>, ControlError> {
    Ok(ctl.store.approvals(pending, limit).await?)
}

/// What the run of request `id` left for its requester alone (a token, an export, half an
/// enrolment token, a backup's authorisation): theirs, once. Anyone else is refused (audited).
pub async fn collect(
    ctl: &Control,
    invocation: &Invocation,
    id: i64,
) -> Result<Value, ControlError> {
    let target = format!("approval:{id}");
    let record = load(ctl, id).await?;
    if record.request.requester != invocation.actor {
        let e = ControlError::forbidden(
            "not_the_requester",
            "only the requester collects what a request left for them",
        );
        return Err(invocation
            .refuse(ctl, "collect_approval_result", Some(target), e)
            .await);
    }
    let Some(taken) = ctl.store.take_private_result(id, ctl.clock.now()).await? else {
        return Err(ControlError::conflict(
            "nothing_to_collect",
            "this request left nothing to collect, or it was collected",
        ));
    };
    ctl.audit
        .record(invocation.event(ctl, "collect_approval_result", target, None))
        .await;
    serde_json::from_str(&taken).map_err(ControlError::internal)
}
