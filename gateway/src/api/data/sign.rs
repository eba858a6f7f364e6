//! `POST /v1/keys/{name}/sign`: `{"input":"<b64>","prehashed":bool,"scheme":"pss|pkcs1v15"}` →
//! `{"signature":"kms:NNNNN:<b64>","key_version":N}`. `prehashed`: the input is a SHA-256
//! digest (RSA, ECDSA) or SM2's `e`; `scheme` is for RSA only (default `pss`).

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
    prehashed: Option<bool>,
    scheme: Option<String>,
    items: Option<Vec<Item>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Item {
    input: String,
    #[serde(default)]
    prehashed: bool,
    scheme: Option<String>,
}

fn parse(item: Item) -> Result<Work, kms_engine::EngineError> {
    Ok(Work::Sign {
        input: decode_b64("input", &item.input)?,
        prehashed: item.prehashed,
        scheme: super::scheme(item.scheme.as_deref())?,
    })
}

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: super::Path,
    body: web::Json<Request>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let stray = body.items.is_some() && (body.prehashed.is_some() || body.scheme.is_some());
    let single = body.input.map(|input| Item {
        input,
        prehashed: body.prehashed.unwrap_or(false),
        scheme: body.scheme,
    });
    let shape = super::shape(&state, single, body.items, stray, "input")?;
    super::run(&state, &req, &name, Operation::Sign, shape, parse).await
}
