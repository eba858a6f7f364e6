//! `POST /v1/admin/approvals/{id}/approve` and `.../reject` → the request. The vote that
//! completes the quorum runs the action (as its requester) and the answer carries the result.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_control::approvals::view::ApprovalView;
use kms_control::approvals::vote::vote;

use crate::auth;
use crate::error::ApiError;
use crate::state::AppState;

async fn cast(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<i64>,
    approve: bool,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let action = if approve { "approve" } else { "reject" };
    let caller = auth::require_admin(&state, &req, action, Some(format!("approval:{id}"))).await?;
    let invocation = caller.invocation();
    let principal = caller.principal().clone();
    let record = state
        .on_control(
            move |ctl| async move { vote(&ctl, &principal, &invocation, id, approve).await },
        )
        .await?;
    Ok(HttpResponse::Ok().json(ApprovalView::new(&record, state.clock.now())))
}

pub async fn approve(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    cast(state, req, id, true).await
}

pub async fn reject(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    cast(state, req, id, false).await
}
