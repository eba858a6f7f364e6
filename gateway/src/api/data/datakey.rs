//! `POST /v1/keys/{name}/datakey`: `{"bits":128|256,"return_plaintext":bool,"context":"<b64>"?}`
//! → `{"ciphertext":"kms:NNNNN:...","key_version":N,"plaintext":"<b64>"?}`: a fresh random data
//! key encrypted under this key (envelope encryption of large files), with its plaintext only
//! when asked for.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_engine::EngineError;
use kms_engine::algorithm::Operation;
use kms_engine::pool::Item as Work;
use serde::Deserialize;

use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    bits: Option<u32>,
    return_plaintext: Option<bool>,
    context: Option<String>,
    items: Option<Vec<Item>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Item {
    bits: Option<u32>,
    #[serde(default)]
    return_plaintext: bool,
    context: Option<String>,
}

fn parse(item: Item) -> Result<Work, EngineError> {
    let bytes = match item.bits.unwrap_or(256) {
        128 => 16,
        256 => 32,
        _ => return Err(EngineError::InvalidArgument("`bits` is 128 or 256".into())),
    };
    Ok(Work::DataKey {
        bytes,
        context: super::context(item.context)?,
        return_plaintext: item.return_plaintext,
    })
}

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: super::Path,
    body: web::Json<Request>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let top_level =
        body.bits.is_some() || body.return_plaintext.is_some() || body.context.is_some();
    let (single, stray) = match body.items {
        Some(_) => (None, top_level),
        None => (
            Some(Item {
                bits: body.bits,
                return_plaintext: body.return_plaintext.unwrap_or(false),
                context: body.context,
            }),
            false,
        ),
    };
    let shape = super::shape(&state, single, body.items, stray, "bits")?;
    super::run(&state, &req, &name, Operation::Datakey, shape, parse).await
}
