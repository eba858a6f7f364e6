//! `POST {mount}/random[/:source][/:bytes]` `{"bytes"?,"format"?,"source"?}` →
//! `{"random_bytes":"..."}`: 1 to 131 072 bytes (default 32) from the operating system's CSPRNG,
//! in base64 (default) or hex. Any authenticated caller.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_engine::EngineError;
use kms_engine::ciphertext::encode_b64;
use serde_json::json;

use super::envelope::{self, VaultError};
use super::fields::Fields;
use crate::auth;
use crate::state::AppState;

/// Vault's limit.
const MAX: u64 = 128 * 1024;

/// Output encoding of `random` and `hash`.
pub fn format(body: &mut Fields, default: &str, bytes: &[u8]) -> Result<String, EngineError> {
    match body.string("format")?.as_deref().unwrap_or(default) {
        "base64" => Ok(encode_b64(bytes)),
        "hex" => Ok(hex::encode(bytes)),
        other => Err(EngineError::InvalidArgument(format!(
            "`format` `{other}` is not supported: base64 or hex"
        ))),
    }
}

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, VaultError> {
    auth::authenticate(&state, &req, "transit_random", None).await?;
    let mut body = Fields::read(&state, payload).await?;
    let mut bytes = body.uint("bytes")?;
    let mut source = body.string("source")?;
    // Path segments: a number is the byte count (`/random/32`), anything else the source.
    for segment in ["source", "bytes"]
        .iter()
        .filter_map(|p| req.match_info().get(p))
    {
        match segment.parse::<u64>() {
            Ok(n) => bytes = Some(n),
            Err(_) => source = Some(segment.to_owned()),
        }
    }
    // Every source is served by the operating system's generator (docs/vault-compat.md).
    if let Some(s) = source.filter(|s| !matches!(s.as_str(), "platform" | "seal" | "all")) {
        return Err(VaultError::bad_request(
            "invalid_request",
            format!("`source` `{s}` is not one of platform, seal, all"),
        ));
    }
    let n = bytes.unwrap_or(32);
    if !(1..=MAX).contains(&n) {
        return Err(VaultError::bad_request(
            "invalid_request",
            format!("`bytes` must be 1 to {MAX}"),
        ));
    }
    let mut out = vec![0u8; usize::try_from(n).unwrap_or(32)];
    rand::fill(&mut out[..]);
    let random = format(&mut body, "base64", &out)?;
    Ok(envelope::ok(
        json!({ "random_bytes": random }),
        body.warnings(),
    ))
}
