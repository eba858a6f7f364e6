//! `POST {mount}/rewrap/:name` `{"ciphertext":"vault:vN:...","associated_data"?,"context"?}` or
//! `{"batch_input":[...]}` → `{"ciphertext":"vault:vM:...","key_version":M}` under the latest
//! version; the plaintext never leaves the crypto worker.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_engine::algorithm::Operation;
use kms_engine::pool::Item;

use super::Name;
use super::decrypt::ciphertext_op;
use super::envelope::VaultError;
use crate::state::AppState;

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: Name,
    payload: web::Payload,
) -> Result<HttpResponse, VaultError> {
    ciphertext_op(
        &state,
        &req,
        &name,
        payload,
        Operation::Rewrap,
        |ciphertext, context| Item::Rewrap {
            ciphertext,
            context,
        },
    )
    .await
}
