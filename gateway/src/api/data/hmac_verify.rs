//! `POST /v1/keys/{name}/hmac/verify`: `{"input":"<b64>","hmac":"kms:NNNNN:<b64>"}` →
//! `{"valid":bool}`, compared in constant time. Needs the `hmac` grant.

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
    hmac: Option<String>,
    items: Option<Vec<Item>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Item {
    input: String,
    hmac: String,
}

fn parse(item: Item) -> Result<Work, kms_engine::EngineError> {
    Ok(Work::HmacVerify {
        input: decode_b64("input", &item.input)?,
        hmac: item.hmac,
    })
}

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: super::Path,
    body: web::Json<Request>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let stray = body.items.is_some() && body.hmac.is_some();
    let single = match (body.input, body.hmac) {
        (Some(input), Some(hmac)) => Some(Item { input, hmac }),
        (None, None) => None,
        (Some(_), None) if body.items.is_none() => {
            return Err(ApiError::bad_request(
                "invalid_request",
                "`hmac` is required",
            ));
        }
        _ => {
            return Err(ApiError::bad_request(
                "invalid_request",
                "`input` and `hmac` are both required",
            ));
        }
    };
    let shape = super::shape(&state, single, body.items, stray, "input")?;
    super::run(&state, &req, &name, Operation::Hmac, shape, parse).await
}
