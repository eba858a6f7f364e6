//! `GET /v1/admin/approvals[?pending=true]` → `{"approvals":[...]}` (newest first);
//! `GET /v1/admin/approvals/{id}` → one request with its votes and, once run, its result.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_control::approvals::request::{list as list_requests, load};
use kms_control::approvals::view::ApprovalView;
use serde::Deserialize;

use crate::auth;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Query {
    #[serde(default)]
    pending: bool,
    limit: Option<u32>,
}

pub async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<Query>,
) -> Result<HttpResponse, ApiError> {
    auth::require_admin(&state, &req, "list_approvals", None).await?;
    let q = query.into_inner();
    let found = state
        .on_control(move |ctl| async move {
            list_requests(&ctl, q.pending, q.limit.unwrap_or(100)).await
        })
        .await?;
    let now = state.clock.now();
    let approvals: Vec<ApprovalView> = found.iter().map(|r| ApprovalView::new(r, now)).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "approvals": approvals })))
}

pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    auth::require_admin(
        &state,
        &req,
        "read_approval",
        Some(format!("approval:{id}")),
    )
    .await?;
    let record = state
        .on_control(move |ctl| async move { load(&ctl, id).await })
        .await?;
    Ok(HttpResponse::Ok().json(ApprovalView::new(&record, state.clock.now())))
}
