//! Cross-site request forgery: every state-changing form of the console carries the session's
//! CSRF token in a hidden field, and its request must come from the console's own origin. A form
//! posted from another site has neither: it is refused (403 `csrf_refused`) and the refusal is
//! audited like any other.
//!
//! The token is HMAC-SHA256 keyed with the session token (which only the `HttpOnly` cookie holds)
//! over a fixed label: a page of this origin knows it, another site cannot compute it.

use actix_web::HttpRequest;
use actix_web::http::StatusCode;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::cookie;
use crate::auth;
use crate::error::ApiError;
use crate::state::AppState;

const LABEL: &[u8] = b"kms console csrf v1";

/// HMAC takes keys of any length: `None` never happens.
fn mac(session: &str) -> Option<Hmac<Sha256>> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(session.as_bytes()).ok()?;
    mac.update(LABEL);
    Some(mac)
}

/// The CSRF token of a session.
pub fn token_for(session: &str) -> String {
    mac(session).map_or_else(String::new, |m| hex::encode(m.finalize().into_bytes()))
}

/// Whether the request came from a page of this origin: an `Origin` header, if sent, names this
/// origin, and a `Sec-Fetch-Site`, if sent, says `same-origin`.
pub fn same_origin(req: &HttpRequest) -> bool {
    let header = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
    let info = req.connection_info();
    let own = format!("{}://{}", info.scheme(), info.host());
    let origin_ok = header("origin").is_none_or(|o| o == own);
    let site_ok = header("sec-fetch-site").is_none_or(|s| s == "same-origin" || s == "none");
    origin_ok && site_ok
}

/// Checks a state-changing form: this origin, and the session's token in `sent`. Refusals are
/// audited.
pub async fn check(state: &AppState, req: &HttpRequest, sent: &str) -> Result<(), ApiError> {
    let session = cookie::cookie(req.headers());
    let token_ok = session.is_some_and(|s| {
        hex::decode(sent).is_ok_and(|t| mac(s).is_some_and(|m| m.verify_slice(&t).is_ok()))
    });
    if same_origin(req) && token_ok {
        return Ok(());
    }
    Err(refuse(state, req).await)
}

/// Checks a form that opens a session (login, enrolment): this origin only. Refusals are
/// audited.
pub async fn check_origin(state: &AppState, req: &HttpRequest) -> Result<(), ApiError> {
    if same_origin(req) {
        return Ok(());
    }
    Err(refuse(state, req).await)
}

async fn refuse(state: &AppState, req: &HttpRequest) -> ApiError {
    let actor = cookie::cookie(req.headers())
        .and_then(|s| {
            state
                .directory
                .load()
                .authenticate(s)
                .map(|i| i.actor.to_string())
        })
        .unwrap_or_else(|| "anonymous".to_owned());
    let e = ApiError::new(
        StatusCode::FORBIDDEN,
        "csrf_refused",
        "the form did not come from this console (wrong origin or missing CSRF token)",
    );
    let remote = auth::remote(state, req);
    let action = format!("console {} {}", req.method(), req.path());
    auth::refuse(state, actor, remote, &action, None, e).await
}
