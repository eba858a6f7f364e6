//! `POST /v1/admin/users/{name}/disable` (ends their sessions; waits for approval, and never
//! leaves fewer people than a quorum needs) and `.../enable` (also clears a lock) → the user.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use kms_control::approvals::action::Action;
use kms_control::people::accounts::DisableParams;
use kms_control::people::status::enable as enable_user;

use super::super::approve_or_run::approve_or_run;
use super::super::run;
use crate::auth;
use crate::error::ApiError;
use crate::state::AppState;

pub async fn disable(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let name = name.into_inner();
    let target = format!("user:{name}");
    let caller = auth::require_admin(&state, &req, "disable_user", Some(target.clone())).await?;
    let action = Action::DisableUser(DisableParams { name });
    approve_or_run(&state, &caller, action, target, StatusCode::OK).await
}

pub async fn enable(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let name = name.into_inner();
    let target = format!("user:{name}");
    let caller = auth::require_admin(&state, &req, "enable_user", Some(target.clone())).await?;
    let invocation = caller.invocation();
    let view = run(&state, &caller, "enable_user", target, |ctl| async move {
        enable_user(&ctl, &invocation, &name).await
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}
