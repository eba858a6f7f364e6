//! `POST /v1/admin/zones` `{"name","public_key"}` → the zone, or 202 with the approval request:
//! registering a zone decides who can open working keys in transit, so a security administrator's
//! request runs once a quorum of other security administrators approves (the root token runs it
//! at once). The key must be an RSA-3072 public key (SPKI or PKCS#1 PEM).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use kms_control::approvals::action::Action;
use kms_control::zones::register::{Params, parse};

use super::super::approve_or_run::approve_or_run;
use crate::auth;
use crate::error::ApiError;
use crate::state::AppState;

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<Params>,
) -> Result<HttpResponse, ApiError> {
    let target = format!("zone:{}", body.name);
    let caller = auth::require_admin(&state, &req, "register_zone", Some(target.clone())).await?;
    parse(&body)?;
    let action = Action::RegisterZone(body.into_inner());
    approve_or_run(&state, &caller, action, target, StatusCode::OK).await
}
