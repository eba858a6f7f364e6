//! How an approval request is shown: what it asks with its full parameters and their hash (which
//! a vote must name), what it would change as things are now, who asked, the votes so far and,
//! once run, its public result.

use kms_engine::clock::Timestamp;
use kms_engine::people::ApprovalRecord;
use serde::Serialize;
use serde_json::Value;

use super::action::Action;
use crate::context::Control;

#[derive(Serialize)]
pub struct VoteView {
    user: String,
    decision: &'static str,
    at: String,
}

#[derive(Serialize)]
pub struct ApprovalView {
    id: i64,
    action: String,
    target: String,
    requester: String,
    status: &'static str,
    quorum: u8,
    approvals: usize,
    approver_roles: Vec<&'static str>,
    votes: Vec<VoteView>,
    /// Everything the request would run with.
    params: Value,
    /// SHA-256 of action, target and parameters (hex): a vote names it.
    params_hash: String,
    /// What the request changes, as things are now (roles before and after, the policy now, a
    /// public key's fingerprint).
    details: Value,
    created_at: String,
    expires_at: String,
    executed_at: Option<String>,
    /// The run's public answer (or `{"error":...}`), once executed.
    result: Option<Value>,
    /// The run left something for the requester alone that they have not collected yet.
    private_result_pending: bool,
}

/// The code a run's cancellation is recorded with.
pub const CANCELLED: &str = "approval_cancelled";

/// `cancelled` for a request whose run was cancelled, else its state.
fn status(r: &ApprovalRecord, result: Option<&Value>, now: Timestamp) -> &'static str {
    let cancelled = result
        .and_then(|v| v.pointer("/error/code"))
        .and_then(Value::as_str)
        == Some(CANCELLED);
    if cancelled {
        "cancelled"
    } else {
        r.status(now)
    }
}

impl ApprovalView {
    pub fn new(r: &ApprovalRecord, now: Timestamp, details: Value) -> Self {
        let result: Option<Value> = r
            .result
            .as_deref()
            .and_then(|s| serde_json::from_str(s).ok());
        Self {
            id: r.id,
            action: r.request.action.clone(),
            target: r.request.target.clone(),
            requester: r.request.requester.clone(),
            status: status(r, result.as_ref(), now),
            quorum: r.request.quorum,
            approvals: r.approvals(),
            approver_roles: r.request.approver_roles.names(),
            votes: r
                .votes
                .iter()
                .map(|v| VoteView {
                    user: v.user.clone(),
                    decision: if v.approve { "approve" } else { "reject" },
                    at: v.at.rfc3339(),
                })
                .collect(),
            params: serde_json::from_str(&r.request.params).unwrap_or(Value::Null),
            params_hash: hex::encode(r.request.params_hash()),
            details,
            created_at: r.request.created_at.rfc3339(),
            expires_at: r.request.expires_at.rfc3339(),
            executed_at: r.executed_at.map(|t| t.rfc3339()),
            result,
            private_result_pending: r.private_pending,
        }
    }
}

/// The request as an approver sees it, its details read now.
pub async fn view(ctl: &Control, r: &ApprovalRecord) -> ApprovalView {
    let details = match Action::from_stored(&r.request.action, &r.request.params) {
        Ok(action) => action.describe(ctl).await,
        Err(e) => {
            serde_json::json!({ "error": { "code": e.code(), "message": e.public_message() } })
        }
    };
    ApprovalView::new(r, ctl.clock.now(), details)
}
