//! `POST /v1/passwords/{key}/challenge` → `{"challenge":"<b64>","expires_at"}`: a random value
//! the browser encrypts together with the password, good for one `protect` or `verify` on this
//! key within two minutes. Kept in this node's memory (docs/passwords.md). Any grant on the key
//! allows it; each app and each key gets a share of the table (`challenge_quota_exceeded`, 429).

use actix_web::{HttpRequest, HttpResponse, web};
use kms_engine::keyring::KeyEntry;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;

/// The body, for an authorised caller (whose share of the table it counts against).
pub fn issue(state: &AppState, caller: &Caller, key: &KeyEntry) -> Result<Value, ApiError> {
    let (challenge, expires) =
        state
            .challenges
            .issue(key.id, &caller.actor_shared(), state.clock.now())?;
    Ok(json!({ "challenge": challenge, "expires_at": expires.rfc3339() }))
}

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: super::Path,
) -> Result<HttpResponse, ApiError> {
    let (caller, key) = super::authorize(&state, &req, &name, None, "password-challenge").await?;
    Ok(HttpResponse::Ok().json(issue(&state, &caller, &key)?))
}
