//! A sensitive action over HTTP: `202` with the approval request it became, or its answer when
//! it runs at once (the root token, or a change that does not need approval).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use kms_control::approvals::action::Action;
use kms_control::approvals::ran::Mode;
use kms_control::approvals::request::request;
use kms_control::approvals::view::view;
use kms_engine::directory::Principal;

use super::run;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;

/// Runs `action` for `caller` at once (the root token, or an action that needs no approval now:
/// answered with `done`), or files it for approval (`202` with the request).
pub async fn approve_or_run(
    state: &web::Data<AppState>,
    caller: &Caller,
    action: Action,
    target: String,
    done: StatusCode,
) -> Result<HttpResponse, ApiError> {
    let invocation = caller.invocation();
    let root = matches!(caller.principal(), Principal::Root { .. });
    let checked = action.clone();
    let sensitive = !root
        && state
            .on_control(move |ctl| async move { checked.needs_approval(&ctl).await })
            .await?;
    if sensitive {
        let shown = state
            .on_control(move |ctl| async move {
                let record = request(&ctl, &invocation, &action, target).await?;
                Ok(view(&ctl, &record).await)
            })
            .await?;
        return Ok(HttpResponse::Accepted().json(shown));
    }
    let name = action.name();
    let out = run(state, caller, &name, target, move |ctl| async move {
        Ok(action.run(&ctl, &invocation, Mode::Direct).await?.direct())
    })
    .await?;
    Ok(HttpResponse::build(done).json(out))
}
