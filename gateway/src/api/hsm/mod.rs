//! HSM endpoints: status and rotations for administrators (bearer token), and master-key
//! ceremonies for custodians: kms.toml's custodians (HTTP Basic with their own name and
//! password), or people holding `security_admin` or `operator` through their session (Bearer),
//! who logged in with password and TOTP.

pub mod approve;
pub mod generate_root;
pub mod list;
pub mod rekey;
pub mod rotations;
pub mod show;
pub mod start;
pub mod status;

use std::sync::Arc;

use actix_web::HttpRequest;
use actix_web::http::StatusCode;
use actix_web::http::header::AUTHORIZATION;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use kms_control::ceremony::custodian_login;
use kms_control::context::Control;
use kms_control::custodians::{Custodian, CustodianRole};
use kms_control::error::ControlError;
use kms_engine::audit::Outcome;
use kms_engine::directory::Principal;
use kms_engine::role::Role;
use kms_engine::secret::SecretString;
use serde::Deserialize;

use crate::auth;
use crate::error::ApiError;
use crate::state::AppState;

fn basic(req: &HttpRequest) -> Option<(String, String)> {
    let value = req.headers().get(AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (name, password) = decoded.split_once(':')?;
    Some((name.to_owned(), password.to_owned()))
}

/// Authenticates a custodian (argon2id, on the control runtime). Failures are audited.
pub async fn custodian(
    state: &AppState,
    req: &HttpRequest,
    action: &str,
    target: Option<String>,
) -> Result<Custodian, ApiError> {
    if auth::token(req).is_some() {
        return user_custodian(state, req, action, target).await;
    }
    let remote = req.peer_addr().map(|a| a.ip().to_string());
    let Some((name, password)) = basic(req) else {
        let e = ApiError::new(
            StatusCode::UNAUTHORIZED,
            "missing_credentials",
            "custodians authenticate with HTTP Basic: their name and password",
        );
        let mut event = state.event("anonymous".into(), action, target, Outcome::Denied);
        event.code = Some(e.code.to_owned());
        event.remote = remote;
        state.audit.record(event).await;
        return Err(e);
    };
    let password = SecretString::new(password);
    let action = action.to_owned();
    state
        .on_control(move |ctl| async move {
            custodian_login::check(&ctl, &name, password, remote, &action, target).await
        })
        .await
}

/// A person acting as a custodian through their session: `security_admin` (preferred) or
/// `operator`. Anyone else with a token is `403 not_a_custodian`, audited.
async fn user_custodian(
    state: &AppState,
    req: &HttpRequest,
    action: &str,
    target: Option<String>,
) -> Result<Custodian, ApiError> {
    let caller = auth::authenticate(state, req, action, target.clone()).await?;
    if let Principal::User { name, roles, .. } = caller.principal() {
        for (role, as_custodian) in [
            (Role::SecurityAdmin, CustodianRole::SecurityAdmin),
            (Role::Operator, CustodianRole::Operator),
        ] {
            if roles.contains(role) {
                return Ok(Custodian::from_user(name, as_custodian));
            }
        }
    }
    let e = ApiError::new(
        StatusCode::FORBIDDEN,
        "not_a_custodian",
        "ceremonies take custodians: kms.toml's, or users holding security_admin or operator",
    );
    Err(auth::refuse(state, caller.actor(), caller.remote, action, target, e).await)
}

/// The caller's address, for the audit records of a custodian's steps.
pub fn remote(req: &HttpRequest) -> Option<String> {
    req.peer_addr().map(|a| a.ip().to_string())
}

/// A current unseal share submitted to a rekey or a generate-root (their `update`), for the
/// attempt `nonce` names.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShareSubmission {
    nonce: String,
    share: String,
}

/// A custodian's step: authenticates the custodian (audited as `action` on `target`), then runs
/// `call` on the control runtime with the custodian and the caller's address.
pub async fn as_custodian<F, Fut, T>(
    state: &AppState,
    req: &HttpRequest,
    action: &str,
    target: Option<String>,
    call: F,
) -> Result<T, ApiError>
where
    F: FnOnce(Arc<Control>, Custodian, Option<String>) -> Fut,
    Fut: Future<Output = Result<T, ControlError>> + Send + 'static,
    T: Send + 'static,
{
    let who = custodian(state, req, action, target).await?;
    let remote = remote(req);
    state.on_control(move |ctl| call(ctl, who, remote)).await
}

/// A share submission (rekey's or generate-root's `update`): [`as_custodian`], with the nonce
/// and the share from the body.
pub async fn submit_share<F, Fut, T>(
    state: &AppState,
    req: &HttpRequest,
    action: &str,
    body: ShareSubmission,
    update: F,
) -> Result<T, ApiError>
where
    F: FnOnce(Arc<Control>, Custodian, String, SecretString, Option<String>) -> Fut,
    Fut: Future<Output = Result<T, ControlError>> + Send + 'static,
    T: Send + 'static,
{
    let ShareSubmission { nonce, share } = body;
    let share = SecretString::new(share);
    as_custodian(state, req, action, None, move |ctl, who, remote| {
        update(ctl, who, nonce, share, remote)
    })
    .await
}
