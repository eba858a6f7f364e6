//! `POST /v1/admin/users` `{"name","roles":[...]}` → the account, without credentials: the
//! person sets their own password and TOTP with an enrolment token (`/v1/auth/enrol/...`).
//!
//! The root token (bootstrap) creates at once (`201`) and gets the whole token. A user's request
//! waits for approval (`202`); once approved, the token is split: the requester collects the
//! first half (`POST /v1/admin/approvals/{id}/collect`), the approver whose vote ran it gets the
//! second in that vote's answer, and the person needs both. Nobody who creates an account can
//! log in as it.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use kms_control::approvals::action::Action;
use kms_control::people::accounts::{CreateParams, check_new};

use super::super::approve_or_run::approve_or_run;
use crate::auth;
use crate::error::ApiError;
use crate::state::AppState;

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<CreateParams>,
) -> Result<HttpResponse, ApiError> {
    let params = body.into_inner();
    let target = format!("user:{}", params.name);
    let caller = auth::require_admin(&state, &req, "create_user", Some(target.clone())).await?;
    check_new(&params)?;
    let action = Action::CreateUser(params);
    approve_or_run(&state, &caller, action, target, StatusCode::CREATED).await
}
