//! `POST /v1/keys/{name}/encrypt`: `{"plaintext":"<b64>","context":"<b64>"?}` →
//! `{"ciphertext":"kms:NNNNN:...","key_version":N}`, or a batch of those.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_engine::algorithm::Operation;
use kms_engine::ciphertext::decode_b64;
use kms_engine::pool::{EncryptItem, Encrypted};
use kms_engine::secret::PlaintextBuf;
use serde::{Deserialize, Serialize};

use crate::api::batch;
use crate::auth;
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

#[derive(Serialize)]
struct Response {
    ciphertext: String,
    key_version: u32,
}

fn parse(item: Item) -> Result<EncryptItem, kms_engine::EngineError> {
    Ok(EncryptItem {
        plaintext: PlaintextBuf::new(decode_b64("plaintext", &item.plaintext)?),
        context: super::context(item.context)?,
    })
}

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: web::Path<String>,
    body: web::Json<Request>,
) -> Result<HttpResponse, ApiError> {
    let (_caller, key) = auth::authorize_key(&state, &req, &name, Operation::Encrypt).await?;
    let body = body.into_inner();
    let stray = body.context.is_some();
    let single = body.plaintext.map(|plaintext| Item {
        plaintext,
        context: body.context,
    });
    let shape = batch::shape(single, body.items, stray, "plaintext", &state.limits)?;
    batch::run(
        shape,
        parse,
        |items| state.pool.encrypt(key, items),
        |e: Encrypted| Response {
            ciphertext: e.ciphertext,
            key_version: e.version.get(),
        },
    )
    .await
}
