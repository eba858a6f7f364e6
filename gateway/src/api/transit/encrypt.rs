//! `POST {mount}/encrypt/:name` `{"plaintext","associated_data"?,"context"?,"key_version"?}` or
//! `{"batch_input":[...]}` → `{"ciphertext":"vault:vN:...","key_version":N}`. A missing key is
//! created for an administrator, of the request's `type` (derived, and convergent if asked, when
//! the first item has a `context`), as Vault does.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_engine::EngineError;
use kms_engine::algorithm::Operation;
use kms_engine::ciphertext::decode_b64;
use kms_engine::keyring::KeyEntry;
use kms_engine::pool::{Item, Params};
use kms_engine::secret::PlaintextBuf;
use serde_json::Value;

use super::create_key::{self, Upsert};
use super::envelope::VaultError;
use super::fields::Fields;
use super::{Items, Name, contexts, key_version, with_params};
use crate::state::AppState;

mod fast;

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: Name,
    payload: web::Payload,
) -> Result<HttpResponse, VaultError> {
    let bytes = super::fields::body(&state, payload).await?;
    if let Some(answer) = fast::single(&state, &req, &name, &bytes).await {
        return answer;
    }
    let mut items = Items::parse(&state, &bytes)?;
    // Only for creating a missing key (below).
    let upsert = Upsert {
        kind: items.body.string("type")?,
        convergent: items.body.bool("convergent_encryption")?.unwrap_or(false),
        derived: first_has_context(&items),
    };
    let op = Operation::Encrypt;
    let results = match super::run(&state, &req, &name, op, &mut items, parse).await {
        // Only an administrator learns that a key is missing: Vault creates it ("upsert").
        Err(VaultError(e)) if e.code == "key_not_found" => {
            create_key::upsert(&state, &req, &name, &upsert).await?;
            super::run(&state, &req, &name, op, &mut items, parse).await?
        }
        other => other?,
    };
    super::respond(items, results)
}

/// Whether the request's first item has a derivation `context` (Vault makes a missing key
/// derived then).
fn first_has_context(items: &Items) -> bool {
    let first = match &items.batch {
        Some(b) => b.items.first(),
        None => Some(&items.body),
    };
    first
        .and_then(|f| f.peek("context"))
        .is_some_and(|c| matches!(c, Value::String(s) if !s.is_empty()))
}

fn parse(f: &mut Fields, _: &KeyEntry) -> Result<Item, EngineError> {
    let version = key_version(f)?;
    let text = f
        .string("plaintext")?
        .ok_or_else(|| EngineError::InvalidArgument("missing plaintext to encrypt".into()))?;
    let (context, derivation) = contexts(f)?;
    let item = Item::Encrypt {
        plaintext: PlaintextBuf::new(decode_b64("plaintext", &text)?),
        context,
    };
    Ok(with_params(
        item,
        Params {
            derivation,
            version,
            ..Params::default()
        },
    ))
}
