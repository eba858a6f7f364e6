//! The demo application backend behind `GET /demo/login` (dev mode with `--demo-key`; see
//! docs/passwords.md). It stands in for an application: its users live in its own SQLite
//! database (`<data-dir>/demo-app.db`) holding a username, a random salt and the value the KMS
//! returned from `protect`, never a password. It reaches the password key through the same
//! functions as `/v1/passwords/...`, as the dev root principal (a real backend is an app with
//! the `protect` and `verify` grants).

pub mod app;
pub mod login;
pub mod page;
pub mod session;
pub mod signup;

use std::sync::Arc;

use actix_web::HttpRequest;
use actix_web::http::StatusCode;
use kms_engine::EngineError;
use kms_engine::keyring::KeyEntry;
use serde::Deserialize;

use crate::api::passwords;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;
pub use app::Demo;

/// The demo backend's identity and its password key.
fn caller(
    demo: &Demo,
    state: &AppState,
    req: &HttpRequest,
) -> Result<(Caller, Arc<KeyEntry>), ApiError> {
    let directory = state.directory.load();
    let identity = directory
        .authenticate(demo.token.expose())
        .cloned()
        .ok_or_else(|| ApiError::internal(&"the demo backend's token is not known"))?;
    let key = directory
        .key(&demo.key)
        .cloned()
        .ok_or(EngineError::KeyNotFound)?;
    passwords::password_key(&key)?;
    let remote = req.peer_addr().map(|a| a.ip());
    Ok((Caller { identity, remote }, key))
}

/// The demo, if this server runs it.
fn demo(state: &AppState) -> Result<&Demo, ApiError> {
    state.demo.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "the demo runs only in dev mode with --demo-key",
        )
    })
}

/// What the page posts to sign up and to log in.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    username: String,
    encrypted_password: String,
}

/// A sign-up or login under way: the demo, the checked username, its caller and key.
struct Attempt<'a> {
    demo: &'a Demo,
    username: String,
    caller: Caller,
    key: Arc<KeyEntry>,
}

impl<'a> Attempt<'a> {
    fn start(state: &'a AppState, req: &HttpRequest, body: &Credentials) -> Result<Self, ApiError> {
        let demo = demo(state)?;
        let username = body.username()?.to_owned();
        let (caller, key) = caller(demo, state, req)?;
        Ok(Self {
            demo,
            username,
            caller,
            key,
        })
    }
}

impl Credentials {
    fn username(&self) -> Result<&str, ApiError> {
        let u = self.username.as_str();
        if u.is_empty() || u.len() > 64 || u.chars().any(char::is_control) {
            return Err(ApiError::bad_request(
                "invalid_username",
                "a username is 1 to 64 characters, no control characters",
            ));
        }
        Ok(u)
    }
}

fn db_error(e: sqlx::Error) -> ApiError {
    ApiError::internal(&e)
}
