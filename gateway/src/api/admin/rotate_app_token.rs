//! `POST /v1/admin/apps/{name}/tokens` `{"overlap_seconds"?}` → a new token for the app, shown
//! once. The app's other live tokens keep working for the overlap (default 24 hours; 0: they stop
//! now), so the app can roll the new one out first. They stop at their expiry by themselves: the
//! data plane's snapshot holds it and compares it per request.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_engine::clock::Timestamp;
use kms_engine::store::TokenRotation;
use kms_engine::token::{self, TokenHash};
use serde::{Deserialize, Serialize};

use super::app_admin;
use super::app_view::find_app;
use super::{run, success};
use crate::error::ApiError;
use crate::state::AppState;

/// 24 hours.
const DEFAULT_OVERLAP: u64 = 24 * 3600;
/// 90 days.
const MAX_OVERLAP: u64 = 90 * 24 * 3600;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    overlap_seconds: Option<u64>,
}

#[derive(Serialize)]
struct Response {
    app: String,
    token: String,
    token_id: String,
    created_at: String,
    previous_tokens_expire_at: String,
}

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: web::Path<String>,
    body: web::Json<Request>,
) -> Result<HttpResponse, ApiError> {
    let name = name.into_inner();
    let (caller, target) = app_admin(&state, &req, &name, "rotate_app_token").await?;
    let overlap = body.overlap_seconds.unwrap_or(DEFAULT_OVERLAP);
    if overlap > MAX_OVERLAP {
        return Err(ApiError::bad_request(
            "invalid_request",
            format!("`overlap_seconds` must be 0 to {MAX_OVERLAP} (90 days)"),
        ));
    }
    let mut event = success(&state, &caller, "rotate_app_token", target.clone());
    event.detail = Some(format!("overlap_seconds={overlap}"));
    let response = run(
        &state,
        &caller,
        "rotate_app_token",
        target,
        |st| async move {
            let app = find_app(&st, &name).await?;
            let now = st.clock.now();
            let overlap_ms = i64::try_from(overlap * 1000).unwrap_or(i64::MAX);
            let token = token::generate();
            let hash = TokenHash::of(token.expose());
            let rotation = TokenRotation {
                app: app.id,
                token: hash,
                at: now,
                old_expire_at: Timestamp::from_millis(now.millis().saturating_add(overlap_ms)),
            };
            let revision = st.store.rotate_app_token(&rotation, &event).await?;
            st.synced(revision).await;
            Ok(Response {
                app: app.name.to_string(),
                token: token.expose().to_owned(),
                token_id: hash.id(),
                created_at: now.rfc3339(),
                previous_tokens_expire_at: rotation.old_expire_at.rfc3339(),
            })
        },
    )
    .await?;
    Ok(HttpResponse::Created().json(response))
}
