//! `POST /v1/passwords/{key}/verify`
//! `{"encrypted_password":"<b64>","salt":"<b64>","protected":"kms:NNNNN:..."}` →
//! `{"match":bool,"key_version":N,"protected"?}`: whether the password the browser encrypted is
//! the one `protected` holds, compared in constant time. On a match under a version that is no
//! longer active, `protected` is the same password under the active version, for the application
//! to store (the only way to move `hash`-protected values to a new version). Needs `verify`.

use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, web};
use kms_engine::algorithm::Operation;
use kms_engine::keyring::KeyEntry;
use kms_engine::pool::Item;
use serde::Deserialize;
use serde_json::Value;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    pub encrypted_password: String,
    pub salt: String,
    pub protected: String,
}

/// The body, for an authorised caller.
pub async fn verify(
    state: &AppState,
    caller: &Caller,
    key: Arc<KeyEntry>,
    body: &Request,
) -> Result<Value, ApiError> {
    let item = Item::PasswordVerify {
        encrypted: super::encrypted(&body.encrypted_password)?,
        salt: super::salt(&body.salt)?,
        protected: body.protected.clone(),
        challenges: Arc::clone(&state.challenges),
    };
    super::rendered(super::run(state, caller, key, item).await?)
}

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: super::Path,
    body: web::Json<Request>,
) -> Result<HttpResponse, ApiError> {
    let (caller, key) =
        super::authorize(&state, &req, &name, Some(Operation::Verify), "verify").await?;
    Ok(HttpResponse::Ok().json(verify(&state, &caller, key, &body).await?))
}
