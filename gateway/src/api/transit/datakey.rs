//! `POST {mount}/datakey/:type/:name` (`type` is `plaintext` or `wrapped`) `{"bits"?,"context"?,
//! "associated_data"?}` → `{"ciphertext":"vault:vN:...","key_version":N,"plaintext"?}`: a fresh
//! random key of 128 or 256 bits (default 256) encrypted under the named key, its plaintext only
//! for `plaintext`.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_engine::EngineError;
use kms_engine::algorithm::Operation;
use kms_engine::pool::Item;

use super::envelope::VaultError;
use super::{Items, associated_data};
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
                _ => {
                    return Err(EngineError::InvalidArgument(
                        "`bits` must be 128 or 256".into(),
                    ));
                }
            };
            Ok(Item::DataKey {
                bytes,
                context: associated_data(f)?,
                return_plaintext,
            })
        },
    )
    .await?;
    super::respond(items, results)
}
