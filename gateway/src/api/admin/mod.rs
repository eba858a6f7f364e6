//! Admin endpoints. Each runs its store and HSM work on the control runtime. A success is audited
//! by the store in the same transaction as the change; a failure is audited here.

pub mod app_view;
pub mod approvals;
pub mod audit;
pub mod backup;
pub mod bind_certificate;
pub mod config;
pub mod create_app;
pub mod create_key;
pub mod events;
pub mod export;
pub mod get_app;
pub mod get_key;
pub mod grant;
pub mod key_view;
pub mod list_apps;
pub mod list_keys;
pub mod revoke_app;
pub mod rollback;
pub mod root_tokens;
pub mod rotate;
pub mod rotate_app_token;
pub mod set_policy;
pub mod users;
pub mod versions;
pub mod zones;

use std::future::Future;
use std::sync::Arc;

use actix_web::{HttpRequest, web};
use kms_engine::audit::{AuditEvent, Outcome};

use crate::auth::{self, Caller};
use crate::error::ApiError;
use crate::state::AppState;

/// A change's reason, as kept in the key's history: 1 to 1024 characters, not only blanks.
pub fn reason(reason: String) -> Result<String, ApiError> {
    if reason.trim().is_empty() || reason.len() > 1024 {
        return Err(ApiError::bad_request(
            "invalid_request",
            "`reason` must be 1 to 1024 characters",
        ));
    }
    Ok(reason)
}

/// An administrator's action on a key: the caller, authorised as an administrator, and the audit
/// target `key:{name}`.
pub async fn key_admin(
    state: &AppState,
    req: &HttpRequest,
    name: &str,
    action: &str,
) -> Result<(Caller, String), ApiError> {
    let target = format!("key:{name}");
    let caller = auth::require_admin(state, req, action, Some(target.clone())).await?;
    if crate::system_keys::is_reserved(name) {
        return Err(kms_engine::EngineError::KeyNotFound.into());
    }
    Ok((caller, target))
}

/// An administrator's action on an app: the caller, authorised as an administrator, and the
/// audit target `app:{name}`.
pub async fn app_admin(
    state: &AppState,
    req: &HttpRequest,
    name: &str,
    action: &str,
) -> Result<(Caller, String), ApiError> {
    let target = format!("app:{name}");
    let caller = auth::require_admin(state, req, action, Some(target.clone())).await?;
    Ok((caller, target))
}

/// The audit record of what `caller` did, with where they called from.
fn caller_event(
    state: &AppState,
    caller: &Caller,
    action: &str,
    target: String,
    outcome: Outcome,
) -> AuditEvent {
    let mut event = state.event(caller.actor(), action, Some(target), outcome);
    event.remote = caller.remote.map(|ip| ip.to_string());
    event
}

/// The audit record of a successful admin action, written with the change.
pub fn success(state: &AppState, caller: &Caller, action: &str, target: String) -> AuditEvent {
    caller_event(state, caller, action, target, Outcome::Success)
}

/// Runs an admin action on the control runtime, auditing it if it fails.
pub async fn run<T, F, Fut>(
    state: &web::Data<AppState>,
    caller: &Caller,
    action: &str,
    target: String,
    f: F,
) -> Result<T, ApiError>
where
    F: FnOnce(Arc<AppState>) -> Fut,
    Fut: Future<Output = Result<T, ApiError>> + Send + 'static,
    T: Send + 'static,
{
    let result = state.io(f(Arc::clone(state))).await;
    if let Err(e) = &result {
        let mut event = caller_event(state, caller, action, target, Outcome::Failed);
        event.code = Some(e.code.to_owned());
        event.detail = Some(e.message.clone());
        state.audit.record(event).await;
    }
    result
}
