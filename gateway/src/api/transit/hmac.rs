//! `POST {mount}/hmac/:name[/:algorithm]` `{"input","algorithm"?,"key_version"?}` or
//! `{"batch_input":[...]}` → `{"hmac":"vault:vN:..."}`. `hmac` keys only, SHA-256 only.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_engine::EngineError;
use kms_engine::algorithm::Operation;
use kms_engine::pool::Item;

use super::envelope::VaultError;
use super::fields::Fields;
use super::{Items, check_key_version};
use crate::state::AppState;

/// The hash algorithm from the path or the body: `sha2-256` (the default) is the only one.
pub fn sha2_256(req: &HttpRequest, body: &mut Fields, field: &str) -> Result<(), EngineError> {
    let from_path = req.match_info().get("algorithm").map(str::to_owned);
    match from_path.or(body.string(field)?).as_deref() {
        None | Some("sha2-256") => Ok(()),
        Some(other) => Err(EngineError::InvalidArgument(format!(
            "hash algorithm `{other}` is not supported: only sha2-256"
        ))),
    }
}

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, VaultError> {
    let name = req.match_info().query("name").to_owned();
    let mut items = Items::read(&state, payload).await?;
    sha2_256(&req, &mut items.body, "algorithm")?;
    let results = super::run(
        &state,
        &req,
        &name,
        Operation::Hmac,
        &mut items,
        |f, key| {
            check_key_version(f, key)?;
            Ok(Item::Hmac {
                input: f.base64("input")?,
            })
        },
    )
    .await?;
    super::respond(items, results)
}
