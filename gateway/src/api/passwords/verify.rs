//! `POST /v1/passwords/{key}/verify`
//! `{"encrypted_password":"<b64>","salt":"<b64>","protected":"kms:NNNNN:..."}` →
//! `{"match":bool,"key_version":N,"protected"?}`: whether the password the browser encrypted is
//! the one `protected` holds, compared in constant time. On a match under a version that is no
//! longer active, `protected` is the same password under the active version, for the application
//! to store (the only way to move `hash`-protected values to a new version). Needs `verify`.

use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, web};
use kms_engine::algorithm::Operation;
use kms_engine::pool::Item;
use serde::Deserialize;

use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    pub encrypted_password: String,
    pub salt: String,
    pub protected: String,
}

impl Request {
    pub fn item(&self, state: &AppState) -> Result<Item, ApiError> {
        Ok(Item::PasswordVerify {
            encrypted: super::encrypted(&self.encrypted_password)?,
            salt: super::salt(&self.salt)?,
            protected: self.protected.clone(),
            challenges: Arc::clone(&state.challenges),
        })
    }
}

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: super::Path,
    body: web::Json<Request>,
) -> Result<HttpResponse, ApiError> {
    super::handle_op(&state, &req, &name, Operation::Verify, |st| body.item(st)).await
}
