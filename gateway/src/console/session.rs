//! The console's session: a cookie holding the person's API session token, `HttpOnly;
//! SameSite=Strict; Path=/ui` (and `Secure` on a TLS listener). The token is the one the API's
//! login handler issued: it expires, and logs out, as the API's session does.

use actix_web::dev::ServiceRequest;
use actix_web::http::header::{AUTHORIZATION, COOKIE, HeaderMap, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};
use kms_engine::directory::Principal;
use kms_engine::role::RoleSet;

use super::csrf;
use crate::state::AppState;

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

/// The `Set-Cookie` value opening a session.
pub fn set_cookie(req: &HttpRequest, token: &str) -> String {
    let secure = if req.app_config().secure() {
        "; Secure"
    } else {
        ""
    };
    format!("{COOKIE_NAME}={token}; Path=/ui; HttpOnly; SameSite=Strict{secure}")
}

/// The `Set-Cookie` value ending it.
pub fn clear_cookie(req: &HttpRequest) -> String {
    let secure = if req.app_config().secure() {
        "; Secure"
    } else {
        ""
    };
    format!("{COOKIE_NAME}=; Path=/ui; Max-Age=0; HttpOnly; SameSite=Strict{secure}")
}

/// Who is looking, to decide what to offer. Never an authorisation: every action is decided, and
/// every refusal audited, by the API's handler the page calls.
#[derive(Debug)]
pub struct Viewer {
    pub actor: String,
    /// `None` for the root token (allowed everything).
    roles: Option<RoleSet>,
    /// The session's CSRF token, for the page's forms.
    pub csrf: String,
}

impl Viewer {
    /// The cookie's session, if it is a live one.
    pub fn of(state: &AppState, req: &HttpRequest) -> Option<Viewer> {
        let token = cookie(req.headers())?;
        let directory = state.directory.load();
        let identity = directory.authenticate(token)?;
        if identity.expired(|| state.clock.now()) {
            return None;
        }
        let roles = match &identity.principal {
            Principal::Root { .. } => None,
            Principal::User { roles, .. } => Some(*roles),
            Principal::App { .. } => return None,
        };
        Some(Viewer {
            actor: identity.actor.to_string(),
            roles,
            csrf: csrf::token_for(token),
        })
    }

    /// Whether the access table lets this person call `action` (to offer it or not).
    pub fn can(&self, action: &str) -> bool {
        self.roles
            .is_none_or(|r| r.intersects(kms_control::access::allowed(action)))
    }

    /// The person's roles, for the header.
    pub fn roles(&self) -> String {
        self.roles
            .map_or_else(|| "root".to_owned(), RoleSet::to_csv)
    }
}

/// `303 See Other` to `to`.
pub fn redirect(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header(("Location", to))
        .finish()
}
