//! Voting on a request. The requester cannot vote on their own request, a voter needs one of the
//! action's approver roles, an approval names the hash of the parameters it saw, nobody votes
//! twice, a rejection ends it, an expired request takes no votes, and the vote that completes the
//! quorum runs the action, once (the store moves it from pending to executing for exactly one
//! caller), as its requester — unless, by then, the parameters no longer hash to what every
//! approver saw, or the requester's account is gone, disabled or no longer holds a role that may
//! ask for it: then the request is cancelled (audited) and nothing runs.

use kms_engine::audit::Outcome;
use kms_engine::directory::Principal;
use kms_engine::people::{ApprovalRecord, Vote};
use kms_engine::store::StoreError;
use serde_json::{Value, json};

use super::action::Action;
use super::invocation::Invocation;
use super::ran::Mode;
use super::request::load;
use super::view::CANCELLED;
use crate::access;
use crate::context::Control;
use crate::error::ControlError;

/// A vote's outcome: the request as it stands, and, for the approver whose vote ran it, what
/// the run left for them alone (the second half of an enrolment token).
#[derive(Debug)]
pub struct Voted {
    pub record: ApprovalRecord,
    pub for_you: Option<Value>,
}

/// A hash as approvers send it: 64 hex digits.
pub fn parse_hash(text: &str) -> Result<[u8; 32], ControlError> {
    hex::decode(text.trim())
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .ok_or_else(|| {
            ControlError::invalid(
                "invalid_params_hash",
                "`params_hash` is 64 hex digits, as the request shows it",
            )
        })
}

/// Records `principal`'s vote on request `id` (`approve` or reject) and, when it completes the
/// quorum, runs the action. An approval must name the `params_hash` the voter was shown.
/// Refusals are audited.
pub async fn vote(
    ctl: &Control,
    principal: &Principal,
    invocation: &Invocation,
    id: i64,
    approve: bool,
    params_hash: Option<[u8; 32]>,
) -> Result<Voted, ControlError> {
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
    let record = match load(ctl, id).await {
        Ok(record) => record,
        Err(e) => return Err(refuse(e).await),
    };
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
    let current = record.request.params_hash();
    match (approve, params_hash) {
        (true, None) => {
            let e = ControlError::invalid(
                "params_hash_required",
                "an approval names the `params_hash` of the request it approves",
            );
            return Err(refuse(e).await);
        }
        (_, Some(seen)) if seen != current => {
            let e = ControlError::conflict(
                "params_changed",
                "the request's parameters are not the ones you were shown: read it again",
            );
            return Err(refuse(e).await);
        }
        _ => {}
    }
    let event = invocation.event(ctl, action, target.clone(), None);
    let ballot = Vote {
        user: name.clone(),
        approve,
        at: now,
        params_hash: Some(current),
    };
    let record = match ctl.store.vote(id, &ballot, &event).await {
        Err(StoreError::AlreadyExists("vote")) => {
            let e =
                ControlError::conflict("already_voted", "you have already voted on this request");
            return Err(refuse(e).await);
        }
        other => other?,
    };
    if !approve || record.approvals() < usize::from(record.request.quorum) {
        return Ok(Voted {
            record,
            for_you: None,
        });
    }
    // The quorum is met: run it, once.
    if !ctl.store.claim_approval(id, ctl.clock.now()).await? {
        return Ok(Voted {
            record,
            for_you: None,
        });
    }
    let mut failed_code = None;
    let (result, private, for_you, done) = match still_valid(ctl, &record).await {
        Err(reason) => {
            let message = format!("cancelled before it ran: {reason}");
            let result = json!({ "error": { "code": CANCELLED, "message": message } });
            (
                result,
                None,
                None,
                ("cancel_approval", Outcome::Failed, message),
            )
        }
        Ok(()) => match execute(ctl, &record).await {
            Ok(ran) => {
                let private = ran.private.map(|v| v.to_string());
                (ran.public, private, ran.completer, executed(&record))
            }
            Err(e) => {
                let result =
                    json!({ "error": { "code": e.code(), "message": e.public_message() } });
                // A failed run is audited as a failure, with its code (it used to read as a
                // success).
                let (action, _, what) = executed(&record);
                let detail = format!("{what}: failed: {}", e.public_message());
                failed_code = Some(e.code().to_owned());
                (result, None, None, (action, Outcome::Failed, detail))
            }
        },
    };
    let (done_action, outcome, detail) = done;
    let mut finished = ctl.event(
        record.request.requester.clone(),
        done_action,
        Some(format!("approval:{id}")),
        outcome,
    );
    finished.detail = Some(detail);
    finished.code = failed_code;
    ctl.store
        .finish_approval(id, &result.to_string(), private.as_deref(), &finished)
        .await?;
    Ok(Voted {
        record: ctl.store.approval(id).await?.unwrap_or(record),
        for_you,
    })
}

fn executed(record: &ApprovalRecord) -> (&'static str, Outcome, String) {
    (
        "execute_approval",
        Outcome::Success,
        format!("{} {}", record.request.action, record.request.target),
    )
}

/// What must still hold when a request runs: every approval was for the parameters the request
/// holds now, and its requester may still ask for it.
async fn still_valid(ctl: &Control, record: &ApprovalRecord) -> Result<(), String> {
    let current = record.request.params_hash();
    if record
        .votes
        .iter()
        .filter(|v| v.approve)
        .any(|v| v.params_hash != Some(current))
    {
        return Err("its parameters changed after it was approved".into());
    }
    let Some(name) = record.request.requester.strip_prefix("user:") else {
        return Err(format!(
            "{} cannot be a requester",
            record.request.requester
        ));
    };
    let user = match ctl.store.user(name).await {
        Ok(Some(user)) => user,
        Ok(None) => return Err(format!("the requester {name} no longer exists")),
        Err(e) => return Err(format!("the requester could not be read: {e}")),
    };
    if user.disabled {
        return Err(format!("the requester {name} is disabled"));
    }
    let allowed = access::allowed(&record.request.action);
    if !user.roles.intersects(allowed) {
        return Err(format!(
            "the requester {name} no longer holds a role that may ask for `{}` ({})",
            record.request.action,
            allowed.to_csv()
        ));
    }
    Ok(())
}

/// Runs an approved request (claimed by the caller) as its requester.
async fn execute(ctl: &Control, record: &ApprovalRecord) -> Result<super::ran::Ran, ControlError> {
    let invocation = Invocation {
        actor: record.request.requester.clone(),
        remote: None,
        approval: Some(record.id),
    };
    Action::from_stored(&record.request.action, &record.request.params)?
        .run(ctl, &invocation, Mode::Approved)
        .await
}
