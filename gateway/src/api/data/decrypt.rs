//! `POST /v1/keys/{name}/decrypt`: `{"ciphertext":"kms:NNNNN:...","context":"<b64>"?}` →
//! `{"plaintext":"<b64>"}`, or a batch of those.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_engine::algorithm::Operation;
use kms_engine::ciphertext::encode_b64;
use kms_engine::pool::DecryptItem;
use kms_engine::secret::PlaintextBuf;
use serde::{Deserialize, Serialize};

use crate::api::batch;
use crate::auth;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    ciphertext: Option<String>,
    context: Option<String>,
    items: Option<Vec<Item>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Item {
    ciphertext: String,
    context: Option<String>,
}

#[derive(Serialize)]
struct Response {
    plaintext: String,
}

fn parse(item: Item) -> Result<DecryptItem, kms_engine::EngineError> {
    Ok(DecryptItem {
        ciphertext: item.ciphertext,
        context: super::context(item.context)?,
    })
}

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: web::Path<String>,
    body: web::Json<Request>,
) -> Result<HttpResponse, ApiError> {
    let (_caller, key) = auth::authorize_key(&state, &req, &name, Operation::Decrypt).await?;
    let body = body.into_inner();
    let stray = body.context.is_some();
    let single = body.ciphertext.map(|ciphertext| Item {
        ciphertext,
        context: body.context,
    });
    let shape = batch::shape(single, body.items, stray, "ciphertext", &state.limits)?;
    batch::run(
        shape,
        parse,
        |items| state.pool.decrypt(key, items),
        |p: PlaintextBuf| Response {
            plaintext: encode_b64(&p),
        },
    )
    .await
}
