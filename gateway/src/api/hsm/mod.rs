//! HSM endpoints: status and rotations for administrators (bearer token), and master-key
//! ceremonies for custodians (HTTP Basic with their own name and password).

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
use kms_engine::audit::Outcome;

use crate::custodians::Custodian;
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
    let custodians = state.ceremonies.custodians.clone();
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

/// Audits a custodian's successful step.
pub async fn audit_step(
    state: &AppState,
    who: &Custodian,
    req: &HttpRequest,
    action: &str,
    target: String,
    detail: Option<String>,
) {
    let mut event = state.event(
        format!("custodian:{}", who.name),
        action,
        Some(target),
        Outcome::Success,
    );
    event.remote = req.peer_addr().map(|a| a.ip().to_string());
    event.detail = detail;
    state.audit.record(event).await;
}
