//! `POST {mount}/encrypt/:name` `{"plaintext","associated_data"?,"context"?,"key_version"?}` or
//! `{"batch_input":[...]}` → `{"ciphertext":"vault:vN:...","key_version":N}`.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_engine::EngineError;
use kms_engine::algorithm::Operation;
use kms_engine::ciphertext::decode_b64;
use kms_engine::pool::Item;
use kms_engine::secret::PlaintextBuf;

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
    // Vault's encrypt may name the type of a key it creates on the fly; keys are created
    // explicitly here, so these only say what the caller expects.
    items.body.string("type")?;
    items.body.bool("convergent_encryption")?;
    let results = super::run(
        &state,
        &req,
        &name,
        Operation::Encrypt,
        &mut items,
        |f, key| {
            check_key_version(f, key)?;
            let text = f.string("plaintext")?.ok_or_else(|| {
                EngineError::InvalidArgument("missing plaintext to encrypt".into())
            })?;
            let plaintext = PlaintextBuf::new(decode_b64("plaintext", &text)?);
            Ok(Item::Encrypt {
                plaintext,
                context: associated_data(f)?,
            })
        },
    )
    .await?;
    super::respond(items, results)
}
