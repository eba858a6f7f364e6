//! `POST /v1/admin/users/{name}/reset` → the person's password, TOTP and sessions end, and a new
//! enrolment is issued (split between requester and approver, as at creation). An administrator
//! can only reset credentials, never set them. Waits for approval unless the root token asks.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use kms_control::approvals::action::Action;
use kms_control::people::accounts::ResetParams;

use super::super::approve_or_run::approve_or_run;
use crate::auth;
use crate::error::ApiError;
use crate::state::AppState;

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let name = name.into_inner();
    let target = format!("user:{name}");
    let caller = auth::require_admin(&state, &req, "reset_user", Some(target.clone())).await?;
    let action = Action::ResetUser(ResetParams { name });
    approve_or_run(&state, &caller, action, target, StatusCode::OK).await
}
