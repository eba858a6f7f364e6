//! Admin endpoints. Each runs its store and HSM work on the control runtime. A success is audited
//! by the store in the same transaction as the change; a failure is audited here.

pub mod approvals;
pub mod approve_or_run;
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
pub mod key_usage;
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
use kms_control::context::Control;
use kms_control::error::ControlError;
use kms_engine::audit::{AuditEvent, Outcome};

use crate::auth::{self, Caller};
use crate::error::ApiError;
use crate::state::AppState;

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
    if kms_control::system_keys::is_reserved(name) {
        return Err(crate::error::key_not_found(name));
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

/// The audit record of a successful admin action by `caller` (the Transit API's key management
/// writes it with the change).
pub fn success(state: &AppState, caller: &Caller, action: &str, target: String) -> AuditEvent {
    let mut event = state.event(caller.actor(), action, Some(target), Outcome::Success);
    event.remote = caller.remote.map(|ip| ip.to_string());
    event
}

/// Runs an admin action in the management center on the control runtime, auditing it if it
/// fails.
pub async fn run<T, F, Fut>(
    state: &web::Data<AppState>,
    caller: &Caller,
    action: &str,
    target: String,
    f: F,
) -> Result<T, ApiError>
where
    F: FnOnce(Arc<Control>) -> Fut,
    Fut: Future<Output = Result<T, ControlError>> + Send + 'static,
    T: Send + 'static,
{
    let result = state.on_control(f).await;
    if let Err(e) = &result {
        let mut event = state.event(caller.actor(), action, Some(target), Outcome::Failed);
        event.remote = caller.remote.map(|ip| ip.to_string());
        event.code = Some(e.code.to_owned());
        event.detail = Some(e.message.clone());
        state.audit.record(event).await;
    }
    result
}
