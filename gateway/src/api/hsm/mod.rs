//! HSM endpoints: status and rotations for administrators (bearer token), and master-key
//! ceremonies for custodians: kms.toml's custodians (HTTP Basic with their own name and
//! password), or people holding `security_admin` or `operator` through their session (Bearer),
//! who logged in with password and TOTP.

pub mod approve;
pub mod rotations;
pub mod show;
pub mod start;
pub mod status;

use actix_web::HttpRequest;
use actix_web::http::StatusCode;
use actix_web::http::header::AUTHORIZATION;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use kms_control::custodians::{Custodian, CustodianRole};
use kms_engine::audit::Outcome;
use kms_engine::directory::Principal;
use kms_engine::role::Role;

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
    let refuse = |actor: String, error: ApiError| async move {
        let mut event = state.event(actor, action, target.clone(), Outcome::Denied);
        event.code = Some(error.code.to_owned());
        event.remote.clone_from(&remote);
        state.audit.record(event).await;
        error
    };
    let Some((name, password)) = basic(req) else {
        let e = ApiError::new(
            StatusCode::UNAUTHORIZED,
            "missing_credentials",
            "custodians authenticate with HTTP Basic: their name and password",
        );
        return Err(refuse("anonymous".into(), e).await);
    };
    let custodians = state.control.ceremonies.custodians.clone();
    let checked_name = name.clone();
    let found = state
        .io(async move {
            tokio::task::spawn_blocking(move || custodians.verify(&checked_name, &password))
                .await
                .map_err(|e| ApiError::internal(&e))
        })
        .await?;
    match found {
        Some(c) => Ok(c),
        None => {
            let e = ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_credentials",
                "unknown custodian or wrong password",
            );
            Err(refuse(format!("custodian:{name}"), e).await)
        }
    }
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
