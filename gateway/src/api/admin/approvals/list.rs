//! `GET /v1/admin/approvals[?pending=true]` → `{"approvals":[...]}` (newest first);
//! `GET /v1/admin/approvals/{id}` → one request with its votes and, once run, its result.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_control::approvals::request::{list as list_requests, load};
use kms_control::approvals::view::{ApprovalView, view};
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
    let approvals: Vec<ApprovalView> = state
        .on_control(move |ctl| async move {
            let found = list_requests(&ctl, q.pending, q.limit.unwrap_or(100)).await?;
            let mut shown = Vec::with_capacity(found.len());
            for r in &found {
                shown.push(view(&ctl, r).await);
            }
            Ok(shown)
        })
        .await?;
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
    let shown = state
        .on_control(move |ctl| async move { Ok(view(&ctl, &load(&ctl, id).await?).await) })
        .await?;
    Ok(HttpResponse::Ok().json(shown))
}
