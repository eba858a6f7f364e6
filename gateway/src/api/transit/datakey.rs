//! `POST {mount}/datakey/:type/:name` (`type` is `plaintext` or `wrapped`) `{"bits"?,"context"?,
//! "associated_data"?,"key_version"?}` → `{"ciphertext":"vault:vN:...","key_version":N,
//! "plaintext"?}`: a fresh random key of 128, 256 or 512 bits (default 256) encrypted under the
//! named key, its plaintext only for `plaintext`.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_engine::EngineError;
use kms_engine::algorithm::Operation;
use kms_engine::pool::{Item, Params};

use super::envelope::VaultError;
use super::{Items, contexts, key_version, with_params};
use crate::state::AppState;

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> Result<HttpResponse, VaultError> {
    let (kind, name) = path.into_inner();
    let return_plaintext = match kind.as_str() {
        "plaintext" => true,
        "wrapped" => false,
        _ => {
            return Err(VaultError::bad_request(
                "invalid_request",
                "the data key type is `plaintext` or `wrapped`",
            ));
        }
    };
    let mut items = Items::read(&state, payload).await?;
    if items.batch.is_some() {
        return Err(VaultError::bad_request(
            "invalid_request",
            "datakey takes no batch_input",
        ));
    }
    let results = super::run(
        &state,
        &req,
        &name,
        Operation::Datakey,
        &mut items,
        |f, _| {
            let bytes = match f.uint("bits")?.unwrap_or(256) {
                128 => 16,
                256 => 32,
                512 => 64,
                _ => {
                    return Err(EngineError::InvalidArgument(
                        "`bits` must be 128, 256 or 512".into(),
                    ));
                }
            };
            let version = key_version(f)?;
            let (context, derivation) = contexts(f)?;
            let item = Item::DataKey {
                bytes,
                context,
                return_plaintext,
            };
            Ok(with_params(
                item,
                Params {
                    derivation,
                    version,
                    ..Params::default()
                },
            ))
        },
    )
    .await?;
    super::respond(items, results)
}
