//! Who is looking at a page, from the session cookie (`cookie.rs`), and the redirect pages use.

use actix_web::{HttpRequest, HttpResponse};
use kms_engine::directory::Principal;
use kms_engine::role::{Role, RoleSet};

use super::cookie::cookie;
use super::csrf;
use crate::state::AppState;

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

    /// Whether the person may act as a custodian of master-key ceremonies (a security
    /// administrator or an operator; the root token is no custodian).
    pub fn custodian(&self) -> bool {
        self.roles
            .is_some_and(|r| r.intersects(RoleSet::of(&[Role::SecurityAdmin, Role::Operator])))
    }

    /// Whether the person holds one of the roles `names` (a request's approver roles).
    pub fn holds_any(&self, names: &[String]) -> bool {
        self.roles.is_none_or(|r| {
            names
                .iter()
                .any(|n| Role::parse(n).is_ok_and(|role| r.contains(role)))
        })
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
