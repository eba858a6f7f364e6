//! `POST {mount}/verify/:name[/:hash_algorithm]` `{"input","signature":"vault:vN:..."}` (or
//! `"hmac"` instead of `"signature"`), with sign's options, or `{"batch_input":[...]}` →
//! `{"valid":bool}`. Verifying an HMAC needs the `hmac` grant, a signature the `verify` grant.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_engine::EngineError;
use kms_engine::algorithm::Operation;
use kms_engine::ciphertext::Kind;
use kms_engine::pool::{Item, Params};
use serde_json::Value;

use super::envelope::VaultError;
use super::fields::Fields;
use super::hmac::transit_hmac;
use super::sign::Options;
use super::{Items, from_vault, jws, with_params};
use crate::state::AppState;

/// Whether the request verifies HMACs (any item with `hmac`) rather than signatures.
fn verifies_hmac(items: &mut Items) -> bool {
    let has = |f: &mut Fields| f.peek("hmac").is_some_and(|v| !matches!(v, Value::Null));
    match &mut items.batch {
        Some(b) => b.items.iter_mut().any(has),
        None => has(&mut items.body),
    }
}

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, VaultError> {
    let name = req.match_info().query("name").to_owned();
    let mut items = Items::read(&state, payload).await?;
    let options = Options::read(&req, &mut items.body)?;
    let hmac = verifies_hmac(&mut items);
    let op = if hmac {
        Operation::Hmac
    } else {
        Operation::Verify
    };
    let results = super::run(&state, &req, &name, op, &mut items, |f, key| {
        f.base64("context")?;
        let input = f.base64("input")?;
        let signature = f.string("signature")?;
        let tag = f.string("hmac")?;
        match (hmac, signature, tag) {
            (false, Some(signature), None) => {
                let item = Item::Verify {
                    input,
                    prehashed: options.prehashed(),
                    scheme: options.scheme(key.algorithm),
                    signature: if options.jws(key.algorithm) {
                        from_vault(Kind::Signature, &jws::from_jws(&signature)?)?
                    } else {
                        from_vault(Kind::Signature, &signature)?
                    },
                };
                Ok(options.item(item, None))
            }
            (true, None, Some(tag)) => {
                let item = Item::HmacVerify {
                    input,
                    hmac: from_vault(Kind::Hmac, &tag)?,
                };
                let hash = options.hash();
                Ok(with_params(
                    item,
                    Params {
                        hash,
                        transit_hmac: transit_hmac(key, hash),
                        ..Params::default()
                    },
                ))
            }
            _ => Err(EngineError::InvalidArgument(
                "each item needs `signature` or `hmac` (the same one in every item)".into(),
            )),
        }
    })
    .await?;
    super::respond(items, results)
}
