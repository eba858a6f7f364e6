//! Password endpoints, under `/v1/passwords/{key}/` (docs/passwords.md): the browser encrypts the
//! typed password with the key's RSA public key; the application backend passes that blob on and
//! stores only what `protect` returns. The plaintext password exists only inside a crypto worker.
//!
//! Grants: `protect` for `protect`, `verify` for `verify`, `rewrap` for `rewrap`; any grant on
//! the key for `public-key` and `challenge`. Each operation is a function that takes an already
//! authorised caller, so that the demo backend (`api::demo`) runs exactly the same code.

pub mod challenge;
pub mod protect;
pub mod public_key;
pub mod rewrap;
pub mod verify;

use std::sync::Arc;
use std::time::Instant;

use actix_web::{HttpRequest, HttpResponse};
use kms_engine::EngineError;
use kms_engine::algorithm::Operation;
use kms_engine::ciphertext::decode_b64;
use kms_engine::crypto::password::MAX_SALT;
use kms_engine::keyring::{KeyEntry, Purpose};
use kms_engine::pool::{Done, Item};
use serde_json::{Value, json};

use crate::auth::{self, Caller};
use crate::error::ApiError;
use crate::state::AppState;

/// A handler's path, for the route table.
pub type Path = actix_web::web::Path<String>;

/// Authenticates and authorises a call on password key `name`: a grant for `op`, or any grant
/// when `op` is `None`. A key of another purpose is `not_a_password_key`.
pub async fn authorize(
    state: &AppState,
    req: &HttpRequest,
    name: &str,
    op: Option<Operation>,
    action: &str,
) -> Result<(Caller, Arc<KeyEntry>), ApiError> {
    let (caller, key) = match op {
        Some(op) => auth::authorize_key(state, req, name, op).await?,
        None => auth::authorize_key_any(state, req, name, action).await?,
    };
    password_key(&key)?;
    Ok((caller, key))
}

pub fn password_key(key: &KeyEntry) -> Result<(), ApiError> {
    match key.settings.purpose {
        Purpose::Password(_) => Ok(()),
        Purpose::General => Err(EngineError::NotAPasswordKey.into()),
    }
}

/// `encrypted_password`: base64 of the RSA-OAEP ciphertext (its size is checked by the worker,
/// against the key's modulus).
pub fn encrypted(text: &str) -> Result<Vec<u8>, ApiError> {
    Ok(decode_b64("encrypted_password", text)?)
}

/// `salt`: base64, 1 to 255 bytes.
pub fn salt(text: &str) -> Result<Vec<u8>, ApiError> {
    let salt = decode_b64("salt", text)?;
    if salt.is_empty() || salt.len() > MAX_SALT {
        return Err(EngineError::InvalidSalt("1 to 255 bytes, base64").into());
    }
    Ok(salt)
}

/// Runs one password item through the key's crypto workers, counted in the request metrics.
pub async fn run(
    state: &AppState,
    caller: &Caller,
    key: Arc<KeyEntry>,
    item: Item,
) -> Result<Done, ApiError> {
    let started = Instant::now();
    let op = item.operation();
    let name = key.name.clone();
    let result = async {
        let results = state
            .pool
            .run(key, caller.actor_shared(), vec![item])
            .await?;
        results
            .into_iter()
            .next()
            .ok_or(EngineError::WorkerGone)?
            .map_err(ApiError::from)
    }
    .await;
    let outcome = result.as_ref().map_or_else(|e| e.code, |_| "ok");
    crate::metrics::request(op, name.as_str(), outcome, 1, started);
    result
}

/// Runs a password operation's item for an authorised caller and renders its result.
pub async fn call(
    state: &AppState,
    caller: &Caller,
    key: Arc<KeyEntry>,
    item: Item,
) -> Result<Value, ApiError> {
    rendered(run(state, caller, key, item).await?)
}

/// A handler: authorises `op` on the key, makes the item from the body, runs it.
pub async fn handle_op(
    state: &AppState,
    req: &HttpRequest,
    name: &str,
    op: Operation,
    item: impl FnOnce(&AppState) -> Result<Item, ApiError>,
) -> Result<HttpResponse, ApiError> {
    let (caller, key) = authorize(state, req, name, Some(op), op.name()).await?;
    let item = item(state)?;
    Ok(HttpResponse::Ok().json(call(state, &caller, key, item).await?))
}

/// A password item's result as JSON: `{"protected","key_version"}` or
/// `{"match","key_version","protected"?}`.
pub fn rendered(done: Done) -> Result<Value, ApiError> {
    match done {
        Done::Protected { protected, version } => {
            Ok(json!({ "protected": protected, "key_version": version.get() }))
        }
        Done::PasswordMatch {
            matched,
            version,
            protected,
        } => {
            let mut body = json!({ "match": matched, "key_version": version.get() });
            if let Some(p) = protected {
                body["protected"] = p.into();
            }
            Ok(body)
        }
        _ => Err(ApiError::internal(
            &"a password item got another kind of result",
        )),
    }
}
