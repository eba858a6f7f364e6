//! `POST /v1/admin/apps/{name}/tokens` `{"overlap_seconds"?}` → a new token for the app. The app's
//! other live tokens keep working for the overlap (default 24 hours; 0: they stop now), so the
//! app can roll the new one out first; the app sees the overlap (`GET /v1/apps/self`). A user's
//! rotation waits for approval (`202`), and the token then goes to the requester alone, once
//! (`POST /v1/admin/approvals/{id}/collect`); the root token gets it at once.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use kms_control::approvals::action::Action;
use kms_control::apps::tokens::{RotateParams, overlap};
use serde::Deserialize;

use super::app_admin;
use super::approve_or_run::approve_or_run;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    overlap_seconds: Option<u64>,
}

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: web::Path<String>,
    body: web::Json<Request>,
) -> Result<HttpResponse, ApiError> {
    let name = name.into_inner();
    let (caller, target) = app_admin(&state, &req, &name, "rotate_app_token").await?;
    let params = RotateParams {
        app: name,
        overlap_seconds: overlap(body.overlap_seconds)?,
    };
    let action = Action::RotateAppToken(params);
    approve_or_run(&state, &caller, action, target, StatusCode::CREATED).await
}
