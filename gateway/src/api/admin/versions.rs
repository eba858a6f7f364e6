//! One version's state, each with a `{"reason"}` kept in the key's history:
//! - `POST /v1/admin/keys/{name}/versions/{version}/disable`: decrypt-only → disabled
//! - `POST .../enable`: disabled → decrypt-only
//! - `POST .../schedule-destruction` `{"reason","delay"?}`: decrypt-only or disabled → scheduled
//!   for destruction after `delay` (default `7d`); cancellable until then; for a user, `202` an
//!   approval request
//! - `POST .../cancel-destruction`: scheduled → disabled
//!
//! Each answers with the key's description. The active version cannot be changed here: rotate or
//! roll back first.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use kms_control::approvals::action::Action;
use kms_control::durations;
use kms_control::keys::lifecycle::reason;
use kms_control::keys::versions::{DEFAULT_DELAY, Params};
use kms_engine::ids::KeyVersion;
use serde::Deserialize;

use super::approve_or_run::approve_or_run;
use super::key_admin;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    reason: String,
    delay: Option<String>,
}

async fn change(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, u32)>,
    body: web::Json<Request>,
    which: &'static str,
) -> Result<HttpResponse, ApiError> {
    let (name, version) = path.into_inner();
    let version = KeyVersion::new(version)?;
    let action_name = format!("{which}_version");
    let (caller, target) = key_admin(&state, &req, &name, &action_name).await?;
    let body = body.into_inner();
    let why = reason(body.reason)?;
    if body.delay.is_some() && which != "schedule_destruction" {
        return Err(ApiError::bad_request(
            "invalid_request",
            "`delay` only applies to schedule-destruction",
        ));
    }
    let delay = body.delay.as_deref().unwrap_or(DEFAULT_DELAY);
    durations::parse("delay", delay)?;
    let params = Params {
        name,
        version: version.get(),
        which: which.to_owned(),
        reason: why,
        delay: delay.to_owned(),
    };
    approve_or_run(
        &state,
        &caller,
        Action::ChangeVersion(params),
        target,
        StatusCode::OK,
    )
    .await
}

pub async fn disable(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, u32)>,
    body: web::Json<Request>,
) -> Result<HttpResponse, ApiError> {
    change(state, req, path, body, "disable").await
}

pub async fn enable(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, u32)>,
    body: web::Json<Request>,
) -> Result<HttpResponse, ApiError> {
    change(state, req, path, body, "enable").await
}

pub async fn schedule_destruction(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, u32)>,
    body: web::Json<Request>,
) -> Result<HttpResponse, ApiError> {
    change(state, req, path, body, "schedule_destruction").await
}

pub async fn cancel_destruction(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, u32)>,
    body: web::Json<Request>,
) -> Result<HttpResponse, ApiError> {
    change(state, req, path, body, "cancel_destruction").await
}
