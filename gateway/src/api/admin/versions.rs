//! One version's state, each with a `{"reason"}` kept in the key's history:
//! - `POST /v1/admin/keys/{name}/versions/{version}/disable`: decrypt-only → disabled
//! - `POST .../enable`: disabled → decrypt-only
//! - `POST .../schedule-destruction` `{"reason","delay"?}`: decrypt-only or disabled → scheduled
//!   for destruction after `delay` (default `7d`); cancellable until then
//! - `POST .../cancel-destruction`: scheduled → disabled
//!
//! Each answers with the key's description. The active version cannot be changed here: rotate or
//! roll back first.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_engine::ids::KeyVersion;
use kms_engine::store::{VersionAction, VersionChange};
use serde::Deserialize;

use super::key_view::{KeyView, key_id};
use super::{key_admin, reason, run, success};
use crate::error::ApiError;
use crate::state::AppState;
use crate::{durations, keyops};

/// Seven days.
const DEFAULT_DELAY: &str = "7d";

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
    let now = state.clock.now();
    let action = match which {
        "disable" => VersionAction::Disable,
        "enable" => VersionAction::Enable,
        "cancel_destruction" => VersionAction::CancelDestruction,
        _ => {
            let delay = durations::parse("delay", body.delay.as_deref().unwrap_or(DEFAULT_DELAY))?;
            VersionAction::ScheduleDestruction {
                destroy_at: kms_engine::clock::Timestamp::from_millis(now.millis() + delay),
            }
        }
    };
    if body.delay.is_some() && !matches!(action, VersionAction::ScheduleDestruction { .. }) {
        return Err(ApiError::bad_request(
            "invalid_request",
            "`delay` only applies to schedule-destruction",
        ));
    }
    let mut event = success(&state, &caller, &action_name, target.clone());
    event.detail = Some(format!("version={version} reason={why}"));
    let actor = caller.actor();
    let view = run(&state, &caller, &action_name, target, move |st| async move {
        let id = key_id(&st, &name).await?;
        let change = VersionChange {
            key: id,
            version,
            action,
            at: now,
            actor: actor.clone(),
            reason: why.clone(),
        };
        let revision = st.store.change_version(&change, &event).await?;
        st.synced(revision).await;
        if let VersionAction::ScheduleDestruction { destroy_at } = action {
            keyops::event(
                &st,
                "version_destruction_scheduled",
                id,
                &name,
                Some(version),
                serde_json::json!({ "actor": actor, "reason": why, "destroy_at": destroy_at.rfc3339() }),
            )
            .await;
        }
        KeyView::load(&st, id).await
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
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
