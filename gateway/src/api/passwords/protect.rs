//! `POST /v1/passwords/{key}/protect` `{"encrypted_password":"<b64>","salt":"<b64>"}` →
//! `{"protected":"kms:NNNNN:...","key_version":N}`: the value the application stores for a new
//! password (sign-up, password change). Needs the `protect` grant.

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
}

/// The body, for an authorised caller.
pub async fn protect(
    state: &AppState,
    caller: &Caller,
    key: Arc<KeyEntry>,
    body: &Request,
) -> Result<Value, ApiError> {
    let item = Item::PasswordProtect {
        encrypted: super::encrypted(&body.encrypted_password)?,
        salt: super::salt(&body.salt)?,
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
        super::authorize(&state, &req, &name, Some(Operation::Protect), "protect").await?;
    Ok(HttpResponse::Ok().json(protect(&state, &caller, key, &body).await?))
}
