//! Approvals: a sensitive action asked for by a user becomes a request that runs only after
//! `approval_quorum` distinct other users, each holding one of the action's approver roles,
//! approve it. The requester cannot approve their own request, nobody votes twice, a rejection
//! ends it, a request expires after `approval_ttl`, and it runs at most once (the store moves it
//! from pending to executing for exactly one caller).
//!
//! Sensitive actions: giving someone an administrator role, scheduling a version's destruction,
//! exporting an exportable key's material, loosening a key's usage policy, registering a zone's
//! transport key.
//! The root token (the bootstrap credential) runs them at once. Master-key operations have their
//! own custodian quorum (ceremonies, docs/hsm.md).

use std::future::Future;
use std::sync::Arc;

use actix_web::{HttpResponse, web};
use kms_engine::audit::{AuditEvent, Outcome};
use kms_engine::clock::Timestamp;
use kms_engine::directory::Principal;
use kms_engine::people::{ApprovalRecord, ApprovalState, NewApproval};
use kms_engine::role::{Role, RoleSet};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::api::admin::{export, run, set_policy, users, versions, zones};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;

/// Who an action runs for: the caller, or the requester of an approved request.
#[derive(Clone, Debug)]
pub struct Invocation {
    pub actor: String,
    pub remote: Option<String>,
    pub approval: Option<i64>,
}

impl Invocation {
    pub fn of(caller: &Caller) -> Self {
        Self {
            actor: caller.actor(),
            remote: caller.remote.map(|ip| ip.to_string()),
            approval: None,
        }
    }

    /// The audit record of the action's success, naming the approval it ran under.
    /// `detail` says what was done; an approved run adds ` approval=<id>`.
    pub fn event(
        &self,
        state: &AppState,
        action: &str,
        target: String,
        detail: String,
    ) -> AuditEvent {
        let mut event = state.event(self.actor.clone(), action, Some(target), Outcome::Success);
        event.remote.clone_from(&self.remote);
        event.detail = Some(match self.approval {
            Some(id) => format!("{detail} approval={id}"),
            None => detail,
        });
        event
    }
}

/// The approver roles of each sensitive action.
pub fn approver_roles(action: &str) -> RoleSet {
    match action {
        "set_user_roles" => RoleSet::of(&[Role::SystemAdmin]),
        "schedule_destruction_version" | "export_key" | "set_key_policy" => {
            RoleSet::of(&[Role::KeyAdmin, Role::SecurityAdmin])
        }
        "register_zone" => RoleSet::of(&[Role::SecurityAdmin]),
        _ => RoleSet::EMPTY,
    }
}

/// For a sensitive action: `None` when the caller may run it now (the root token), else the
/// 202 answer naming the request that now waits for approval.
pub async fn request(
    state: &AppState,
    caller: &Caller,
    action: &str,
    target: String,
    params: serde_json::Value,
) -> Result<Option<HttpResponse>, ApiError> {
    if matches!(caller.principal(), Principal::Root { .. }) {
        return Ok(None);
    }
    let now = state.clock.now();
    let ttl = i64::try_from(state.access.approval_ttl.as_millis()).unwrap_or(i64::MAX);
    let approval = NewApproval {
        action: action.to_owned(),
        target,
        params: params.to_string(),
        requester: caller.actor(),
        quorum: state.access.approval_quorum,
        approver_roles: approver_roles(action),
        created_at: now,
        expires_at: Timestamp::from_millis(now.millis().saturating_add(ttl)),
    };
    let mut event = state.event(caller.actor(), "request_approval", None, Outcome::Success);
    event.remote = caller.remote.map(|ip| ip.to_string());
    let st = state.store.clone();
    let stored = approval.clone();
    let id = state
        .io(async move { Ok(st.create_approval(&stored, &event).await?) })
        .await?;
    // A new request: pending, no votes yet.
    let record = ApprovalRecord {
        id,
        request: approval,
        state: ApprovalState::Pending,
        votes: Vec::new(),
        executed_at: None,
        result: None,
    };
    Ok(Some(
        HttpResponse::Accepted().json(ApprovalView::new(&record, now)),
    ))
}

/// Runs a sensitive action for `caller`: at once (the root token, or `sensitive` false), or as a
/// request filed for approval (`202`). `apply` is what runs, now or once approved.
pub async fn run_or_request<P, F, Fut>(
    state: &web::Data<AppState>,
    caller: &Caller,
    action: &str,
    target: String,
    params: &P,
    sensitive: bool,
    apply: F,
) -> Result<HttpResponse, ApiError>
where
    P: Serialize,
    F: FnOnce(Arc<AppState>, Invocation, serde_json::Value) -> Fut,
    Fut: Future<Output = Result<serde_json::Value, ApiError>> + Send + 'static,
{
    let params = serde_json::to_value(params).map_err(|e| ApiError::internal(&e))?;
    if sensitive
        && let Some(pending) =
            request(state, caller, action, target.clone(), params.clone()).await?
    {
        return Ok(pending);
    }
    let invocation = Invocation::of(caller);
    let out = run(state, caller, action, target, move |st| {
        apply(st, invocation, params)
    })
    .await?;
    Ok(HttpResponse::Ok().json(out))
}

/// An action's parameters, back from the JSON an approval request keeps.
pub fn params<P: DeserializeOwned>(value: serde_json::Value) -> Result<P, ApiError> {
    serde_json::from_value(value)
        .map_err(|e| ApiError::bad_request("invalid_request", e.to_string()))
}

/// Runs an approved request (claimed by the caller) as its requester.
pub async fn execute(
    state: &AppState,
    record: &ApprovalRecord,
) -> Result<serde_json::Value, ApiError> {
    let invocation = Invocation {
        actor: record.request.requester.clone(),
        remote: None,
        approval: Some(record.id),
    };
    let params: serde_json::Value =
        serde_json::from_str(&record.request.params).map_err(|e| ApiError::internal(&e))?;
    match record.request.action.as_str() {
        "set_user_roles" => users::roles::apply(state, &invocation, params).await,
        "schedule_destruction_version" => {
            versions::apply_destruction(state, &invocation, params).await
        }
        "export_key" => export::apply(state, &invocation, params).await,
        "set_key_policy" => set_policy::apply(state, &invocation, params).await,
        "register_zone" => zones::register::apply(state, &invocation, params).await,
        other => Err(ApiError::internal(&format!(
            "no executor for approved action `{other}`"
        ))),
    }
}

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
