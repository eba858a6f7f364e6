//! `POST {mount}/decrypt/:name` `{"ciphertext":"vault:vN:...","associated_data"?,"context"?}` or
//! `{"batch_input":[...]}` → `{"plaintext":"<base64>"}`; a failed batch item carries
//! `"plaintext":""` beside its error, as in Vault.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_engine::EngineError;
use kms_engine::algorithm::Operation;
use kms_engine::ciphertext::Kind;
use kms_engine::pool::{Item, Params};
use serde_json::json;

use super::envelope::VaultError;
use super::{Items, Name, contexts, from_vault, key_version, with_params};
use crate::state::AppState;

/// Runs `decrypt` or `rewrap`: `make` turns an item's ciphertext (native form) and associated
/// data into the work item. Rewrap also takes `key_version` (the version to wrap under).
pub async fn ciphertext_op(
    state: &AppState,
    req: &HttpRequest,
    name: &str,
    payload: web::Payload,
    op: Operation,
    make: fn(String, Vec<u8>) -> Item,
) -> Result<HttpResponse, VaultError> {
    let mut items = Items::read(state, payload).await?;
    if op == Operation::Decrypt {
        items.failed_item = json!({ "plaintext": "" });
    }
    let results = super::run(state, req, name, op, &mut items, |f, _| {
        let version = if op == Operation::Rewrap {
            key_version(f)?
        } else {
            None
        };
        let text = f
            .string("ciphertext")?
            .ok_or_else(|| EngineError::InvalidArgument("missing ciphertext to decrypt".into()))?;
        let (context, derivation) = contexts(f)?;
        Ok(with_params(
            make(from_vault(Kind::Ciphertext, &text)?, context),
            Params {
                derivation,
                version,
                ..Params::default()
            },
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
