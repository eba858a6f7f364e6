//! `POST /v1/admin/approvals/{id}/approve` and `.../reject` → the request. The vote that
//! completes the quorum runs the action (as its requester) and the answer carries the result.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use kms_engine::audit::Outcome;
use kms_engine::directory::Principal;
use kms_engine::people::{ApprovalRecord, Vote};

use crate::api::admin::success;
use crate::approvals::{self, ApprovalView};
use crate::auth::{self, Caller};
use crate::error::ApiError;
use crate::state::AppState;

pub async fn load(state: &AppState, id: i64) -> Result<ApprovalRecord, ApiError> {
    let st = state.store.clone();
    state
        .io(async move { Ok(st.approval(id).await?) })
        .await?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "approval_not_found",
                format!("no approval request {id}"),
            )
        })
}

/// Audits and returns a refused vote.
async fn refuse(state: &AppState, caller: &Caller, action: &str, id: i64, e: ApiError) -> ApiError {
    let target = Some(format!("approval:{id}"));
    auth::refuse(state, caller.actor(), caller.remote, action, target, e).await
}

async fn vote(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<i64>,
    approve: bool,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let action = if approve { "approve" } else { "reject" };
    let target = format!("approval:{id}");
    let caller = auth::require_admin(&state, &req, action, Some(target.clone())).await?;
    let Principal::User { name, roles, .. } = caller.principal().clone() else {
        let e = ApiError::new(
            StatusCode::FORBIDDEN,
            "not_an_approver",
            "approvals are given by users, not by tokens",
        );
        return Err(refuse(&state, &caller, action, id, e).await);
    };
    let record = load(&state, id).await?;
    let now = state.clock.now();
    if record.request.requester == caller.actor() {
        let e = ApiError::new(
            StatusCode::FORBIDDEN,
            "self_approval",
            "the requester cannot approve or reject their own request",
        );
        return Err(refuse(&state, &caller, action, id, e).await);
    }
    if !roles.intersects(record.request.approver_roles) {
        let e = ApiError::new(
            StatusCode::FORBIDDEN,
            "not_an_approver",
            format!(
                "voting on `{}` needs one of the roles: {}",
                record.request.action,
                record.request.approver_roles.to_csv()
            ),
        );
        return Err(refuse(&state, &caller, action, id, e).await);
    }
    if record.expired(now) {
        let e = ApiError::new(
            StatusCode::CONFLICT,
            "approval_expired",
            format!(
                "the request expired at {}",
                record.request.expires_at.rfc3339()
            ),
        );
        return Err(refuse(&state, &caller, action, id, e).await);
    }
    let event = success(&state, &caller, action, target);
    let ballot = Vote {
        user: name,
        approve,
        at: now,
    };
    let st = state.clone().into_inner();
    let record = state
        .io(async move {
            let record = st.store.vote(id, &ballot, &event).await?;
            if !approve || record.approvals() < usize::from(record.request.quorum) {
                return Ok(record);
            }
            // The quorum is met: run it, once.
            if !st.store.claim_approval(id, st.clock.now()).await? {
                return Ok(record);
            }
            let result = match approvals::execute(&st, &record).await {
                Ok(value) => value,
                Err(e) => serde_json::json!({ "error": { "code": e.code, "message": e.message } }),
            };
            let mut done = st.event(
                record.request.requester.clone(),
                "execute_approval",
                Some(format!("approval:{id}")),
                Outcome::Success,
            );
            done.detail = Some(format!(
                "{} {}",
                record.request.action, record.request.target
            ));
            st.store
                .finish_approval(id, &result.to_string(), &done)
                .await?;
            Ok(st.store.approval(id).await?.unwrap_or(record))
        })
        .await
        .map_err(|e| {
            if e.code == "already_voted" {
                ApiError::new(
                    StatusCode::CONFLICT,
                    "already_voted",
                    "you have already voted on this request",
                )
            } else {
                e
            }
        })?;
    Ok(HttpResponse::Ok().json(ApprovalView::new(&record, state.clock.now())))
}

pub async fn approve(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    vote(state, req, id, true).await
}

pub async fn reject(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    vote(state, req, id, false).await
}
