//! How an approval request is shown: what it asks, who asked, the votes so far and, once run,
//! its result.

use kms_engine::clock::Timestamp;
use kms_engine::people::ApprovalRecord;
use serde::Serialize;

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
    created_at: String,
    expires_at: String,
    executed_at: Option<String>,
    /// The run's answer (or `{"error":...}`), once executed.
    result: Option<serde_json::Value>,
}

impl ApprovalView {
    pub fn new(r: &ApprovalRecord, now: Timestamp) -> Self {
        Self {
            id: r.id,
            action: r.request.action.clone(),
            target: r.request.target.clone(),
            requester: r.request.requester.clone(),
            status: r.status(now),
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
            created_at: r.request.created_at.rfc3339(),
            expires_at: r.request.expires_at.rfc3339(),
            executed_at: r.executed_at.map(|t| t.rfc3339()),
            result: r
                .result
                .as_deref()
                .and_then(|s| serde_json::from_str(s).ok()),
        }
    }
}
