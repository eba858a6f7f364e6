//! `POST {mount}/hmac/:name[/:algorithm]` `{"input","algorithm"?,"key_version"?}` or
//! `{"batch_input":[...]}` → `{"hmac":"vault:vN:..."}`. Any key type: each version has a Transit
//! HMAC key of its own (an HMAC key's material; for other keys one derived from the version's
//! material inside the crypto worker). SHA-2 and SHA-3, SHA-256 by default.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_engine::algorithm::{Family, Operation};
use kms_engine::crypto::HashAlgorithm;
use kms_engine::keyring::KeyEntry;
use kms_engine::pool::{Item, Params};

use super::envelope::VaultError;
use super::{Items, hash_algorithm, key_version, with_params};
use crate::state::AppState;

/// Whether to MAC with the version's Transit HMAC key: always, but for an HMAC key asked for no
/// particular hash, which MACs with its own algorithm (an `hmac-sm3` key stays HMAC-SM3, and
/// agrees with the native API).
pub fn transit_hmac(key: &KeyEntry, hash: Option<HashAlgorithm>) -> bool {
    hash.is_some() || key.algorithm.family() != Family::Mac
}

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, VaultError> {
    let name = req.match_info().query("name").to_owned();
    let mut items = Items::read(&state, payload).await?;
    let hash = hash_algorithm(&req, &mut items.body, "algorithm")?;
    let results = super::run(
        &state,
        &req,
        &name,
        Operation::Hmac,
        &mut items,
        |f, key| {
            let version = key_version(f)?;
            Ok(with_params(
                Item::Hmac {
                    input: f.base64("input")?,
                },
                Params {
                    version,
                    hash,
                    transit_hmac: transit_hmac(key, hash),
                    ..Params::default()
                },
            ))
        },
    )
    .await?;
    super::respond(items, results)
}
