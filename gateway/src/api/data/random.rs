//! `POST /v1/random` `{"bytes":N}` → `{"random":"<b64>"}`: N (1 to 1024) bytes from the
//! operating system's CSPRNG. Any authenticated caller; `items` for several.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_engine::ciphertext::encode_b64;
use serde::Deserialize;

use crate::api::batch::{self, JsonOut};
use crate::auth;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    bytes: Option<usize>,
    items: Option<Vec<Item>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Item {
    bytes: usize,
}

struct Random {
    /// Base64: nothing to escape.
    random: String,
}

impl JsonOut for Random {
    fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"random\":\"");
        out.extend_from_slice(self.random.as_bytes());
        out.extend_from_slice(b"\"}");
    }
}

const MAX: usize = 1024;

fn parse(item: Item) -> Result<usize, kms_engine::EngineError> {
    if (1..=MAX).contains(&item.bytes) {
        Ok(item.bytes)
    } else {
        Err(kms_engine::EngineError::InvalidArgument(format!(
            "`bytes` must be 1 to {MAX}"
        )))
    }
}

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<Request>,
) -> Result<HttpResponse, ApiError> {
    auth::authenticate(&state, &req, "random", None).await?;
    let body = body.into_inner();
    let single = body.bytes.map(|bytes| Item { bytes });
    let shape = batch::shape(single, body.items, false, "bytes", &state.limits)?;
    batch::run(
        shape,
        parse,
        |sizes: Vec<usize>| async move {
            Ok(sizes
                .into_iter()
                .map(|n| {
                    let mut out = vec![0u8; n];
                    rand::fill(&mut out[..]);
                    Ok(out)
                })
                .collect())
        },
        |bytes: Vec<u8>| Random {
            random: encode_b64(&bytes),
        },
    )
    .await
}
