//! `POST /v1/keys/{name}/encrypt`: `{"plaintext":"<b64>","context":"<b64>"?}` →
//! `{"ciphertext":"kms:NNNNN:...","key_version":N}`, or a batch of those.
//!
//! Text may be sent as it is in `plaintext_utf8` instead: `{"plaintext":"4111111111111111"}`
//! is valid base64 and would encrypt 12 unrelated bytes, so an item names its encoding by the
//! field it uses. Exactly one of the two per item (400 `plaintext_fields` otherwise); decrypt
//! answers base64 either way.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_engine::algorithm::Operation;
use kms_engine::ciphertext::decode_b64;
use kms_engine::pool::Item as Work;
use kms_engine::secret::PlaintextBuf;
use serde::Deserialize;

use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    plaintext: Option<String>,
    plaintext_utf8: Option<String>,
    context: Option<String>,
    items: Option<Vec<Item>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Item {
    plaintext: Option<String>,
    plaintext_utf8: Option<String>,
    context: Option<String>,
}

/// An item's plaintext, as sent: base64 bytes or text.
enum Plaintext {
    Base64(String),
    Utf8(String),
}

struct Checked {
    plaintext: Plaintext,
    context: Option<String>,
}

fn fields_error(both: bool) -> ApiError {
    let what = if both { "both were" } else { "neither was" };
    ApiError::bad_request(
        "plaintext_fields",
        format!(
            "send exactly one of `plaintext` (base64 of the bytes) and `plaintext_utf8` (text, \
             encrypted as its UTF-8 bytes); {what} sent"
        ),
    )
}

/// Exactly one of `plaintext` and `plaintext_utf8`.
fn check(item: Item) -> Result<Checked, ApiError> {
    let plaintext = match (item.plaintext, item.plaintext_utf8) {
        (Some(b64), None) => Plaintext::Base64(b64),
        (None, Some(text)) => Plaintext::Utf8(text),
        (both, _) => return Err(fields_error(both.is_some())),
    };
    Ok(Checked {
        plaintext,
        context: item.context,
    })
}

fn parse(item: Checked) -> Result<Work, kms_engine::EngineError> {
    let bytes = match item.plaintext {
        Plaintext::Base64(b64) => decode_b64("plaintext", &b64)?,
        Plaintext::Utf8(text) => text.into_bytes(),
    };
    Ok(Work::Encrypt {
        plaintext: PlaintextBuf::new(bytes),
        context: super::context(item.context)?,
    })
}

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: super::Path,
    body: web::Json<Request>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let stray = body.items.is_some() && body.context.is_some();
    let top_level = body.plaintext.is_some() || body.plaintext_utf8.is_some();
    let single = top_level
        .then(|| {
            check(Item {
                plaintext: body.plaintext,
                plaintext_utf8: body.plaintext_utf8,
                context: body.context,
            })
        })
        .transpose()?;
    let items = body
        .items
        .map(|items| items.into_iter().map(check).collect::<Result<Vec<_>, _>>())
        .transpose()?;
    if single.is_none() && items.is_none() && !stray {
        return Err(fields_error(false));
    }
    let shape = super::shape(&state, single, items, stray, "plaintext")?;
    super::run(&state, &req, &name, Operation::Encrypt, shape, parse).await
}
