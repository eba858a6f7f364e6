//! The crate's one error type. Variants are stable and matchable; the KMS's own answers keep the
//! server's stable `code` (docs/api.md), which is what callers branch on.

use std::sync::Arc;
use std::time::Duration;

/// An error answered by the KMS: `{"error":{"code","message"}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status, or `None` for an item's error inside a batch (the server answers the
    /// batch with 200 and gives the item only its code). Branch on `code`, which is the same
    /// whether or not the call was batched.
    pub status: Option<u16>,
    /// Stable, machine-readable (`decryption_failed`, `operation_not_granted`, ...).
    pub code: String,
    /// For a person; never branch on it.
    pub message: String,
    /// `Retry-After` of a 503 or 429 the client gave up on (its deadline came first).
    pub retry_after: Option<Duration>,
}

#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The KMS refused or failed the call with a stable error code.
    #[error("{}: {}", .0.code, .0.message)]
    Api(ApiError),
    /// The node could not be reached or the connection broke, and no other attempt was allowed
    /// or left (see [`crate::Failover`]).
    #[error("transport to {node}: {detail}")]
    Transport { node: String, detail: String },
    /// The call's deadline passed before an answer.
    #[error("deadline exceeded")]
    DeadlineExceeded,
    /// Every node is down, open-circuited or asked for a pause, until past the deadline.
    #[error("no KMS node is available")]
    NoNodeAvailable,
    /// The node answered something that is not the KMS's API (not JSON, missing fields).
    #[error("unexpected answer from {node}: {detail}")]
    InvalidResponse { node: String, detail: String },
    /// The builder's settings are inconsistent or incomplete.
    #[error("invalid client configuration: {0}")]
    Config(String),
    /// A CA file, client certificate or key could not be read or used.
    #[error("TLS configuration: {0}")]
    Tls(String),
    /// An argument the KMS would refuse anyway, caught before any request (an empty key name).
    #[error("invalid argument: {0}")]
    InvalidArgument(&'static str),
    /// The bytes are not an envelope this client made (wrong magic, truncated header or stream).
    #[error("malformed envelope: {0}")]
    MalformedEnvelope(&'static str),
    /// Local decryption of an envelope failed. One opaque error: tampered data, another
    /// context, or a truncated stream look alike on purpose.
    #[error("decryption failed")]
    DecryptionFailed,
    /// Reading or writing a stream failed.
    #[error("I/O: {0}")]
    Io(Arc<std::io::Error>),
}

impl Error {
    /// The KMS's error code, if the KMS answered with one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Api(e) => Some(&e.code),
            _ => None,
        }
    }

    #[cfg(test)]
    pub(crate) fn api(status: Option<u16>, code: &str, message: &str) -> Self {
        Error::Api(ApiError {
            status,
            code: code.to_owned(),
            message: message.to_owned(),
            retry_after: None,
        })
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(Arc::new(e))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The JSON shape of an error body, as the server writes it.
#[derive(serde::Deserialize)]
pub(crate) struct ErrorBody {
    pub error: ErrorFields,
}

#[derive(serde::Deserialize)]
pub(crate) struct ErrorFields {
    pub code: String,
    #[serde(default)]
    pub message: String,
}

/// The error an answer's body carries, or `None` if it is not an error body.
pub(crate) fn parse_error_body(status: Option<u16>, body: &[u8]) -> Option<ApiError> {
    let parsed: ErrorBody = serde_json::from_slice(body).ok()?;
    Some(ApiError {
        status,
        code: parsed.error.code,
        message: parsed.error.message,
        retry_after: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_parse_and_codes_are_exposed() {
        let body = br#"{"error":{"code":"decryption_failed","message":"no"}}"#;
        let e = parse_error_body(Some(400), body).unwrap();
        assert_eq!(e.code, "decryption_failed");
        assert_eq!(e.status, Some(400));
        assert_eq!(Error::Api(e).code(), Some("decryption_failed"));
        assert!(parse_error_body(None, br#"{"ciphertext":"kms:00001:x"}"#).is_none());
        assert_eq!(Error::DeadlineExceeded.code(), None);
    }
}
