//! `POST {mount}/hash[/:algorithm]` `{"input","algorithm"?,"format"?}` → `{"sum":"..."}`:
//! SHA-2 (224, 256 (default), 384, 512) or SHA-3 (224, 256, 384, 512) of base64 `input`, in hex
//! (default) or base64. Any authenticated caller.

use actix_web::{HttpRequest, HttpResponse, web};
use kms_engine::EngineError;
use kms_engine::crypto::HashAlgorithm;
use serde_json::json;

use super::envelope::{self, VaultError};
use super::fields::Fields;
use super::random::format;
use crate::auth;
use crate::error::ApiError;
use crate::state::AppState;

fn digest(algorithm: &str, input: &[u8]) -> Result<Vec<u8>, EngineError> {
    Ok(HashAlgorithm::parse(algorithm)?.digest(input))
}

pub async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, VaultError> {
    auth::authenticate(&state, &req, "transit_hash", None).await?;
    let mut body = Fields::read(&state, payload).await?;
    let from_body = body.string("algorithm")?;
    let algorithm = req
        .match_info()
        .get("algorithm")
        .map(str::to_owned)
        .or(from_body)
        .unwrap_or_else(|| "sha2-256".to_owned());
    let input = body.base64("input")?;
    // Up to a whole body's worth of hashing: off the HTTP worker.
    let sum = web::block(move || digest(&algorithm, &input))
        .await
        .map_err(|e| ApiError::internal(&e))??;
    let sum = format(&mut body, "hex", &sum)?;
    Ok(envelope::ok(json!({ "sum": sum }), body.warnings()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha2_digests_match_known_answers() {
        // FIPS 180-2 "abc".
        assert_eq!(
            hex::encode(digest("sha2-256", b"abc").unwrap()),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            hex::encode(digest("sha2-224", b"abc").unwrap()),
            "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7"
        );
        assert_eq!(digest("sha2-512", b"abc").unwrap().len(), 64);
        assert_eq!(
            hex::encode(digest("sha3-256", b"abc").unwrap()),
            "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532"
        );
        assert!(digest("md5", b"abc").is_err());
    }
}
