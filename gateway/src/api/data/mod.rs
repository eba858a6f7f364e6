//! Data-plane endpoints: what applications call, under `/v1/keys/{name}/`.

pub mod decrypt;
pub mod encrypt;

use kms_engine::EngineError;
use kms_engine::ciphertext::decode_b64;

/// The optional base64 `context` of an item; absent means empty.
fn context(field: Option<String>) -> Result<Vec<u8>, EngineError> {
    field.map_or_else(|| Ok(Vec::new()), |c| decode_b64("context", &c))
}
