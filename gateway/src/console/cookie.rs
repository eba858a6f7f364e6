//! The console's session cookie: it holds the person's API session token, `HttpOnly;
//! SameSite=Strict; Path=/ui` (and `Secure` over HTTPS). The token is the one the API's
//! login handler issued: it expires, and logs out, as the API's session does.

use actix_web::HttpRequest;
use actix_web::dev::ServiceRequest;
use actix_web::http::header::{AUTHORIZATION, COOKIE, HeaderMap, HeaderValue};

pub const COOKIE_NAME: &str = "kms_console";

/// The session token in the request's cookie, if any.
pub fn cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value.trim())
        .filter(|t| !t.is_empty())
}

/// Hands the cookie's token to the API's handlers as `Authorization: Bearer` (a request that
/// carries its own `Authorization` keeps it).
pub fn bearer(req: &mut ServiceRequest) {
    if req.headers().contains_key(AUTHORIZATION) {
        return;
    }
    let value =
        cookie(req.headers()).and_then(|t| HeaderValue::from_str(&format!("Bearer {t}")).ok());
    if let Some(value) = value {
        req.headers_mut().insert(AUTHORIZATION, value);
    }
}

/// `; Secure` when the browser speaks HTTPS to us (this listener's TLS, or a manage node's or a
/// proxy's `X-Forwarded-Proto`).
fn secure(req: &HttpRequest) -> &'static str {
    if req.connection_info().scheme() == "https" {
        "; Secure"
    } else {
        ""
    }
}

/// The `Set-Cookie` value opening a session.
pub fn set_cookie(req: &HttpRequest, token: &str) -> String {
    let secure = secure(req);
    format!("{COOKIE_NAME}={token}; Path=/ui; HttpOnly; SameSite=Strict{secure}")
}

/// The `Set-Cookie` value ending it.
pub fn clear_cookie(req: &HttpRequest) -> String {
    let secure = secure(req);
    format!("{COOKIE_NAME}=; Path=/ui; Max-Age=0; HttpOnly; SameSite=Strict{secure}")
}
