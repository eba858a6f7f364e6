//! `POST /v1/admin/approvals/{id}/collect` → what the request's run left for its requester alone
//! (an app's new token, an export's wrapped key, the first half of an enrolment token, a
//! backup's authorisation): the requester's, once. Anyone else: `403 not_the_requester`
//! (audited); a second time: `409 nothing_to_collect`.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_control::approvals::request::collect;

use crate::auth;
use crate::error::ApiError;
use crate::state::AppState;

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let caller = auth::require_admin(
        &state,
        &req,
        "collect_approval_result",
        Some(format!("approval:{id}")),
    )
    .await?;
    let invocation = caller.invocation();
    let result = state
        .on_control(move |ctl| async move { collect(&ctl, &invocation, id).await })
        .await?;
    Ok(HttpResponse::Ok().json(result))
}
