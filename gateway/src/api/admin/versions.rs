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
use serde::{Deserialize, Serialize};

use super::key_view::{KeyView, key_id};
use super::{key_admin, reason};
use crate::approvals::{self, Invocation};
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
    approvals::run_or_request(
        &state,
        &caller,
        &action_name,
        target,
        &params,
        which == "schedule_destruction",
        |st, invocation, params| async move { apply(&st, &invocation, params).await },
    )
    .await
}

/// What a version change needs, as an approval request keeps it.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct Params {
    name: String,
    version: u32,
    which: String,
    reason: String,
    delay: String,
}

/// Schedules a destruction that a quorum approved.
pub async fn apply_destruction(
    state: &AppState,
    invocation: &Invocation,
    params: serde_json::Value,
) -> Result<serde_json::Value, ApiError> {
    apply(state, invocation, params).await
}

async fn apply(
    st: &AppState,
    invocation: &Invocation,
    params: serde_json::Value,
) -> Result<serde_json::Value, ApiError> {
    let Params {
        name,
        version,
        which,
        reason: why,
        delay,
    } = approvals::params(params)?;
    let version = KeyVersion::new(version)?;
    let now = st.clock.now();
    let action = match which.as_str() {
        "disable" => VersionAction::Disable,
        "enable" => VersionAction::Enable,
        "cancel_destruction" => VersionAction::CancelDestruction,
        _ => VersionAction::ScheduleDestruction {
            destroy_at: kms_engine::clock::Timestamp::from_millis(
                now.millis() + durations::parse("delay", &delay)?,
            ),
        },
    };
    let event = invocation.event(
        st,
        &format!("{which}_version"),
        format!("key:{name}"),
        format!("version={version} reason={why}"),
    );
    let actor = invocation.actor.clone();
    let id = key_id(st, &name).await?;
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
            st,
            "version_destruction_scheduled",
            id,
            &name,
            Some(version),
            serde_json::json!({ "actor": actor, "reason": why, "destroy_at": destroy_at.rfc3339() }),
        )
        .await;
    }
    serde_json::to_value(KeyView::load(st, id).await?).map_err(|e| ApiError::internal(&e))
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
