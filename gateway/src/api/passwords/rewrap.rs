//! `POST /v1/passwords/{key}/rewrap` `{"protected":"kms:NNNNN:..."}` →
//! `{"protected":"kms:MMMMM:...","key_version":M}` under the active version, for `aead` keys
//! (a `hash` value is `operation_not_supported`: it is re-protected by a successful verify).
//! Opened and sealed again inside a crypto worker. Needs `rewrap`.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_engine::algorithm::Operation;
use kms_engine::pool::Item;
use serde::Deserialize;

use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    protected: String,
}

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: super::Path,
    body: web::Json<Request>,
) -> Result<HttpResponse, ApiError> {
    let protected = body.into_inner().protected;
    super::handle_op(&state, &req, &name, Operation::Rewrap, |_| {
        Ok(Item::PasswordRewrap { protected })
    })
    .await
}
