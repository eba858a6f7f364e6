//! `POST {mount}/decrypt/:name` `{"ciphertext":"vault:vN:...","associated_data"?,"context"?}` or
//! `{"batch_input":[...]}` → `{"plaintext":"<base64>"}`.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_engine::algorithm::Operation;
use kms_engine::ciphertext::Kind;
use kms_engine::pool::Item;

use super::envelope::VaultError;
use super::{Items, Name, associated_data, from_vault};
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
        Operation::Decrypt,
        &mut items,
        |f, _| {
            Ok(Item::Decrypt {
                ciphertext: ciphertext(f)?,
                context: associated_data(f)?,
            })
        },
    )
    .await?;
    super::respond(items, results)
}

/// The item's `ciphertext`, in the native form.
pub fn ciphertext(f: &mut super::fields::Fields) -> Result<String, kms_engine::EngineError> {
    let text = f.string("ciphertext")?.ok_or_else(|| {
        kms_engine::EngineError::InvalidArgument("missing ciphertext to decrypt".into())
    })?;
    from_vault(Kind::Ciphertext, &text)
}
