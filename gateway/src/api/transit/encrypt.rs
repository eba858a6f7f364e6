//! `POST {mount}/encrypt/:name` `{"plaintext","associated_data"?,"context"?,"key_version"?}` or
//! `{"batch_input":[...]}` → `{"ciphertext":"vault:vN:...","key_version":N}`. A missing key is
//! created for an administrator, of the request's `type`, as Vault does.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_engine::EngineError;
use kms_engine::algorithm::Operation;
use kms_engine::ciphertext::decode_b64;
use kms_engine::keyring::KeyEntry;
use kms_engine::pool::Item;
use kms_engine::secret::PlaintextBuf;

use super::envelope::VaultError;
use super::fields::Fields;
use super::{Items, Name, associated_data, check_key_version, create_key};
use crate::state::AppState;

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: Name,
    payload: web::Payload,
) -> Result<HttpResponse, VaultError> {
    let mut items = Items::read(&state, payload).await?;
    // Only for creating a missing key (below).
    let kind = items.body.string("type")?;
    if items.body.bool("convergent_encryption")? == Some(true) {
        return Err(VaultError::bad_request(
            "invalid_request",
            "`convergent_encryption` is not supported (docs/vault-compat.md)",
        ));
    }
    let op = Operation::Encrypt;
    let results = match super::run(&state, &req, &name, op, &mut items, parse).await {
        // Only an administrator learns that a key is missing: Vault creates it ("upsert").
        Err(VaultError(e)) if e.code == "key_not_found" => {
            create_key::upsert(&state, &req, &name, kind.as_deref()).await?;
            super::run(&state, &req, &name, op, &mut items, parse).await?
        }
        other => other?,
    };
    super::respond(items, results)
}

fn parse(f: &mut Fields, key: &KeyEntry) -> Result<Item, EngineError> {
    check_key_version(f, key)?;
    let text = f
        .string("plaintext")?
        .ok_or_else(|| EngineError::InvalidArgument("missing plaintext to encrypt".into()))?;
    Ok(Item::Encrypt {
        plaintext: PlaintextBuf::new(decode_b64("plaintext", &text)?),
        context: associated_data(f)?,
    })
}
