//! `POST /v1/keys/{name}/encrypt`: `{"plaintext":"<b64>","context":"<b64>"?}` →
//! `{"ciphertext":"kms:NNNNN:...","key_version":N}`, or a batch of those.

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
    context: Option<String>,
    items: Option<Vec<Item>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Item {
    plaintext: String,
    context: Option<String>,
}

fn parse(item: Item) -> Result<Work, kms_engine::EngineError> {
    Ok(Work::Encrypt {
        plaintext: PlaintextBuf::new(decode_b64("plaintext", &item.plaintext)?),
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
    let single = body.plaintext.map(|plaintext| Item {
        plaintext,
        context: body.context,
    });
    let shape = super::shape(&state, single, body.items, stray, "plaintext")?;
    super::run(&state, &req, &name, Operation::Encrypt, shape, parse).await
}
