//! `POST /v1/keys/{name}/decrypt`: `{"ciphertext":"kms:NNNNN:...","context":"<b64>"?}` →
//! `{"plaintext":"<b64>"}`, or a batch of those.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_engine::algorithm::Operation;
use kms_engine::pool::Item as Work;
use serde::Deserialize;

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

fn parse(item: Item) -> Result<Work, kms_engine::EngineError> {
    Ok(Work::Decrypt {
        ciphertext: item.ciphertext,
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
    let single = body.ciphertext.map(|ciphertext| Item {
        ciphertext,
        context: body.context,
    });
    let shape = super::shape(&state, single, body.items, stray, "ciphertext")?;
    super::run(&state, &req, &name, Operation::Decrypt, shape, parse).await
}
