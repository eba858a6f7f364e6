//! `POST /v1/keys/{name}/verify`: `{"input":"<b64>","signature":"kms:NNNNN:<b64>",
//! "prehashed":bool,"scheme":"pss|pkcs1v15"}` → `{"valid":bool}`. A wrong signature is
//! `{"valid":false}`; a malformed one is `400 invalid_signature`.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_engine::algorithm::Operation;
use kms_engine::ciphertext::decode_b64;
use kms_engine::pool::Item as Work;
use serde::Deserialize;

use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    input: Option<String>,
    signature: Option<String>,
    prehashed: Option<bool>,
    scheme: Option<String>,
    items: Option<Vec<Item>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Item {
    input: String,
    signature: String,
    #[serde(default)]
    prehashed: bool,
    scheme: Option<String>,
}

fn parse(item: Item) -> Result<Work, kms_engine::EngineError> {
    Ok(Work::Verify {
        input: decode_b64("input", &item.input)?,
        prehashed: item.prehashed,
        scheme: super::scheme(item.scheme.as_deref())?,
        signature: item.signature,
    })
}

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: super::Path,
    body: web::Json<Request>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let stray = body.items.is_some()
        && (body.signature.is_some() || body.prehashed.is_some() || body.scheme.is_some());
    let single = match (body.input, body.signature) {
        (Some(input), Some(signature)) => Some(Item {
            input,
            signature,
            prehashed: body.prehashed.unwrap_or(false),
            scheme: body.scheme,
        }),
        (None, None) => None,
        _ => {
            return Err(ApiError::bad_request(
                "invalid_request",
                "`input` and `signature` are both required",
            ));
        }
    };
    let shape = super::shape(&state, single, body.items, stray, "input")?;
    super::run(&state, &req, &name, Operation::Verify, shape, parse).await
}
