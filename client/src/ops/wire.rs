//! What every typed call shares: the answers' common shapes, base64, and item JSON.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// A ciphertext (or data key, or protected password) and the key version that made it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct Ciphertext {
    /// `kms:NNNNN:<base64>`.
    pub ciphertext: String,
    pub key_version: u32,
}

/// A signature or a MAC, `kms:NNNNN:<base64>`, and the key version that made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tagged {
    pub value: String,
    pub key_version: u32,
}

pub(crate) fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Decodes base64 into memory that is zeroized when dropped.
pub(crate) fn unb64(text: &str) -> Result<Zeroizing<Vec<u8>>> {
    let mut out = Zeroizing::new(Vec::with_capacity(text.len() / 4 * 3 + 3));
    STANDARD
        .decode_vec(text, &mut out)
        .map_err(|_| invalid("a base64 field is not base64"))?;
    Ok(out)
}

pub(crate) fn invalid(detail: &str) -> Error {
    Error::InvalidResponse {
        node: String::new(),
        detail: detail.to_owned(),
    }
}

/// One item's result JSON as `T`.
pub(crate) fn parse<'a, T: Deserialize<'a>>(answer: &'a str) -> Result<T> {
    serde_json::from_str(answer).map_err(|e| Error::InvalidResponse {
        node: String::new(),
        detail: format!("{e}: not the expected answer"),
    })
}

/// One item's JSON from a serializable request.
pub(crate) fn item<T: serde::Serialize>(request: &T) -> Result<Zeroizing<Vec<u8>>> {
    serde_json::to_vec(request)
        .map(Zeroizing::new)
        .map_err(|_| Error::InvalidArgument("the request cannot be written as JSON"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips_and_bad_input_is_an_invalid_response() {
        assert_eq!(&unb64(&b64(b"4111")).unwrap()[..], b"4111");
        assert!(matches!(unb64("***"), Err(Error::InvalidResponse { .. })));
        let c: Ciphertext = parse(r#"{"ciphertext":"kms:00002:QQ==","key_version":2}"#).unwrap();
        assert_eq!(c.key_version, 2);
        assert!(parse::<Ciphertext>(r#"{"valid":true}"#).is_err());
    }
}
