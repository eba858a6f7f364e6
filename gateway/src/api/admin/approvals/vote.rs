//! `POST /v1/admin/approvals/{id}/approve` `{"params_hash"}` and `.../reject` → the request. An
//! approval names the `params_hash` the request showed (it is refused if the request no longer
//! hashes to it). The vote that completes the quorum runs the action (as its requester); the
//! answer carries its public result and, for that approver alone, what the run left for them
//! (`for_you`: the second half of an enrolment token).

use actix_web::{HttpRequest, HttpResponse, web};
use kms_control::approvals::view::view;
use kms_control::approvals::vote::{parse_hash, vote};
use serde::Deserialize;

use crate::auth;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ballot {
    params_hash: Option<String>,
}

async fn cast(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<i64>,
    body: Option<web::Json<Ballot>>,
    approve: bool,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let action = if approve { "approve" } else { "reject" };
    let caller = auth::require_admin(&state, &req, action, Some(format!("approval:{id}"))).await?;
    let hash = body
        .and_then(|b| b.into_inner().params_hash)
        .map(|h| parse_hash(&h))
        .transpose()?;
    let invocation = caller.invocation();
    let principal = caller.principal().clone();
    let (shown, for_you) = state
        .on_control(move |ctl| async move {
            let voted = vote(&ctl, &principal, &invocation, id, approve, hash).await?;
            Ok((view(&ctl, &voted.record).await, voted.for_you))
        })
        .await?;
    let mut body = serde_json::to_value(shown).map_err(|e| ApiError::internal(&e))?;
    if let Some(secret) = for_you {
        body["for_you"] = secret;
    }
    Ok(HttpResponse::Ok().json(body))
}

pub async fn approve(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<i64>,
    body: Option<web::Json<Ballot>>,
) -> Result<HttpResponse, ApiError> {
    cast(state, req, id, body, true).await
}

pub async fn reject(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<i64>,
    body: Option<web::Json<Ballot>>,
) -> Result<HttpResponse, ApiError> {
    cast(state, req, id, body, false).await
}
