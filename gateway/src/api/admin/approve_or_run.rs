//! A sensitive action over HTTP: `202` with the approval request it became, or `200` with its
//! result when it runs at once (the root token, or a change that does not need approval).

use actix_web::{HttpResponse, web};
use kms_control::approvals::action::Action;
use kms_control::approvals::request::request;
use kms_control::approvals::view::ApprovalView;
use kms_engine::directory::Principal;

use super::run;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;

/// Runs `action` for `caller`: at once (the root token, or `sensitive` false), or as a request
/// filed for approval.
pub async fn approve_or_run(
    state: &web::Data<AppState>,
    caller: &Caller,
    action: Action,
    target: String,
    sensitive: bool,
) -> Result<HttpResponse, ApiError> {
    let invocation = caller.invocation();
    if sensitive && !matches!(caller.principal(), Principal::Root { .. }) {
        let record = state
            .on_control(move |ctl| async move { request(&ctl, &invocation, &action, target).await })
            .await?;
        return Ok(HttpResponse::Accepted().json(ApprovalView::new(&record, state.clock.now())));
    }
    let name = action.name();
    let out = run(state, caller, &name, target, move |ctl| async move {
        action.run(&ctl, &invocation).await
    })
    .await?;
    Ok(HttpResponse::Ok().json(out))
}
