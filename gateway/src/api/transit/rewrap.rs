//! `POST {mount}/rewrap/:name` `{"ciphertext":"vault:vN:...","associated_data"?,"context"?}` or
//! `{"batch_input":[...]}` → `{"ciphertext":"vault:vM:...","key_version":M}` under the latest
//! version; the plaintext never leaves the crypto worker.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_engine::algorithm::Operation;
use kms_engine::pool::Item;

use super::decrypt::ciphertext;
use super::envelope::VaultError;
use super::{Items, Name, associated_data, check_key_version};
use crate::state::AppState;

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: Name,
    payload: web::Payload,
) -> Result<HttpResponse, VaultError> {
    let mut items = Items::read(&state, payload).await?;
    let results = super::run(
        &state,
        &req,
        &name,
        Operation::Rewrap,
        &mut items,
        |f, key| {
            check_key_version(f, key)?;
            Ok(Item::Rewrap {
                ciphertext: ciphertext(f)?,
                context: associated_data(f)?,
            })
        },
    )
    .await?;
    super::respond(items, results)
}
