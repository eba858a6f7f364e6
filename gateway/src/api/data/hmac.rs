//! `POST /v1/keys/{name}/hmac`: `{"input":"<b64>"}` → `{"hmac":"kms:NNNNN:<b64>","key_version":N}`.

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
    items: Option<Vec<Item>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Item {
    input: String,
}

fn parse(item: Item) -> Result<Work, kms_engine::EngineError> {
    Ok(Work::Hmac {
        input: decode_b64("input", &item.input)?,
    })
}

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: super::Path,
    body: web::Json<Request>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let single = body.input.map(|input| Item { input });
    let shape = super::shape(&state, single, body.items, false, "input")?;
    super::run(&state, &req, &name, Operation::Hmac, shape, parse).await
}
