//! `POST /v1/passwords/{key}/protect` `{"encrypted_password":"<b64>","salt":"<b64>"}` →
//! `{"protected":"kms:NNNNN:...","key_version":N}`: the value the application stores for a new
//! password (sign-up, password change). Needs the `protect` grant.

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
}

impl Request {
    pub fn item(&self, state: &AppState) -> Result<Item, ApiError> {
        Ok(Item::PasswordProtect {
            encrypted: super::encrypted(&self.encrypted_password)?,
            salt: super::salt(&self.salt)?,
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
    super::handle_op(&state, &req, &name, Operation::Protect, |st| body.item(st)).await
}
