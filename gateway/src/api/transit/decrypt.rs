//! `POST {mount}/decrypt/:name` `{"ciphertext":"vault:vN:...","associated_data"?,"context"?}` or
//! `{"batch_input":[...]}` → `{"plaintext":"<base64>"}`.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_engine::EngineError;
use kms_engine::algorithm::Operation;
use kms_engine::ciphertext::Kind;
use kms_engine::pool::Item;

use super::envelope::VaultError;
use super::{Items, Name, associated_data, check_key_version, from_vault};
use crate::state::AppState;

/// Runs `decrypt` or `rewrap`: `make` turns an item's ciphertext (native form) and associated
/// data into the work item. Rewrap also takes `key_version`.
pub async fn ciphertext_op(
    state: &AppState,
    req: &HttpRequest,
    name: &str,
    payload: web::Payload,
    op: Operation,
    make: fn(String, Vec<u8>) -> Item,
) -> Result<HttpResponse, VaultError> {
    let mut items = Items::read(state, payload).await?;
    let results = super::run(state, req, name, op, &mut items, |f, key| {
        if op == Operation::Rewrap {
            check_key_version(f, key)?;
        }
        let text = f
            .string("ciphertext")?
            .ok_or_else(|| EngineError::InvalidArgument("missing ciphertext to decrypt".into()))?;
        Ok(make(
            from_vault(Kind::Ciphertext, &text)?,
            associated_data(f)?,
        ))
    })
    .await?;
    super::respond(items, results)
}

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
        Operation::Decrypt,
        |ciphertext, context| Item::Decrypt {
            ciphertext,
            context,
        },
    )
    .await
}
