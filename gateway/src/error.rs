//! The API's error type and the one place where errors of every layer become HTTP responses.
//!
//! Every error is `{"error":{"code":"snake_case","message":"..."}}`. Codes are stable: clients
//! branch on them. Internal errors are logged in full and answered with a generic message.

use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderValue, RETRY_AFTER};
use actix_web::{HttpResponse, ResponseError};
use kms_control::error::ControlError;
use kms_engine::EngineError;
use kms_engine::store::StoreError;
use kms_hsm::HsmError;
use serde::Serialize;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Seconds, for 503s and 429s a client should retry.
    pub retry_after: Option<u32>,
}

#[derive(Serialize)]
pub struct ErrorBody<'a> {
    pub code: &'a str,
    pub message: &'a str,
}

#[derive(Serialize)]
struct Envelope<'a> {
    error: ErrorBody<'a>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn unavailable(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            retry_after: Some(1),
            ..Self::new(StatusCode::SERVICE_UNAVAILABLE, code, message)
        }
    }

    /// An internal failure: the detail goes to the log, the client gets a generic message.
    pub fn internal(detail: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; see the server log",
        )
    }

    pub fn body(&self) -> ErrorBody<'_> {
        ErrorBody {
            code: self.code,
            message: &self.message,
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        if let Some(secs) = self.retry_after {
            response.insert_header((RETRY_AFTER, HeaderValue::from(secs)));
        }
        response.json(Envelope { error: self.body() })
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        use EngineError as E;
        let message = e.to_string();
        let code = e.code();
        let status = match &e {
            E::InvalidName { .. }
            | E::InvalidArgument(_)
            | E::InvalidBase64 { .. }
            | E::InvalidCiphertext(_)
            | E::CiphertextTruncated
            | E::UnsupportedAlgorithm { .. }
            | E::UnknownOperation(_)
            | E::OperationNotSupported(_)
            | E::PlaintextTooLarge(_)
            | E::ContextNotSupported
            | E::InvalidSignatureInput(_)
            | E::InvalidSignature(_)
            | E::InvalidHmac(_)
            | E::InvalidPolicy(_)
            | E::NotAPasswordKey
            | E::EncryptedPasswordTooLarge(_)
            | E::EncryptedPasswordLength(_)
            | E::PasswordDecryptionFailed
            | E::InvalidPasswordPayload(_)
            | E::ChallengeUnknown
            | E::ChallengeExpired
            | E::ChallengeWrongKey
            | E::InvalidSalt(_)
            | E::InvalidProtected(_)
            | E::KeyVersionNotFound
            | E::BelowMinDecryptionVersion
            | E::KeyVersionDisabled
            | E::KeyVersionDestroyed
            | E::DecryptionFailed => StatusCode::BAD_REQUEST,
            E::SourceNotAllowed | E::OutsideTimeWindow => StatusCode::FORBIDDEN,
            E::KeyNotFound => StatusCode::NOT_FOUND,
            E::ChallengeReused | E::VersionsExhausted => StatusCode::CONFLICT,
            E::BatchOverRateBurst { .. } => StatusCode::TOO_MANY_REQUESTS,
            E::RateLimited { retry_after_secs }
            | E::ChallengeQuotaExceeded { retry_after_secs } => {
                return Self {
                    retry_after: Some(*retry_after_secs),
                    ..Self::new(StatusCode::TOO_MANY_REQUESTS, code, message)
                };
            }
            E::TooManyChallenges
            | E::Overloaded
            | E::Sealed
            | E::HsmUnavailable
            | E::SyncTimeout => {
                return Self::unavailable(code, message);
            }
            E::CorruptRecord(_)
            | E::KeyMaterialCorrupt
            | E::TransportUnwrapFailed
            | E::NodeSealOpenFailed
            | E::WorkerGone => {
                return Self::internal(&e);
            }
        };
        Self::new(status, code, message)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        let code = e.code();
        match &e {
            StoreError::AlreadyExists(_) => Self::new(StatusCode::CONFLICT, code, e.to_string()),
            StoreError::NotFound(_) => Self::new(StatusCode::NOT_FOUND, code, e.to_string()),
            StoreError::Conflict("approval") => Self::new(
                StatusCode::CONFLICT,
                code,
                "the request is no longer pending (approved, rejected, expired or executed)",
            ),
            StoreError::Conflict(_) => Self::new(StatusCode::CONFLICT, code, e.to_string()),
            StoreError::Unavailable(_) => {
                tracing::warn!(error = %e, "store unavailable");
                Self::unavailable(code, "the key store is unavailable")
            }
            StoreError::Backend(_) | StoreError::Corrupt(_) => Self::internal(&e),
        }
    }
}

impl From<HsmError> for ApiError {
    fn from(e: HsmError) -> Self {
        let message = e.to_string();
        let code = e.code();
        match e {
            HsmError::Sealed | HsmError::NotInitialized => Self::unavailable(code, message),
            HsmError::AlreadyInitialized | HsmError::AuditCounterBackwards { .. } => {
                Self::new(StatusCode::CONFLICT, code, message)
            }
            HsmError::InvalidShare(_)
            | HsmError::WrongShares
            | HsmError::InvalidParameters(_)
            | HsmError::InvalidComponent(_)
            | HsmError::KcvMismatch { .. }
            | HsmError::NotSupported(_) => Self::bad_request(code, message),
            HsmError::Busy | HsmError::Timeout | HsmError::Stopped | HsmError::Unavailable(_) => {
                tracing::warn!(error = %e, "HSM unavailable");
                Self::unavailable(code, "the HSM is unavailable; retry shortly")
            }
            HsmError::UnwrapFailed
            | HsmError::UnknownMasterKey(_)
            | HsmError::Config(_)
            | HsmError::Pkcs11(_)
            | HsmError::Io(_)
            | HsmError::Corrupt(_) => Self::internal(&e),
        }
    }
}

impl From<ControlError> for ApiError {
    fn from(e: ControlError) -> Self {
        use ControlError as C;
        match e {
            C::Engine(e) => e.into(),
            C::Store(e) => e.into(),
            C::Hsm(e) => e.into(),
            C::Invalid { code, message } => Self::bad_request(code, message),
            C::Unauthenticated { code, message } => {
                Self::new(StatusCode::UNAUTHORIZED, code, message)
            }
            C::Forbidden { code, message } => Self::new(StatusCode::FORBIDDEN, code, message),
            C::NotFound { code, message } => Self::new(StatusCode::NOT_FOUND, code, message),
            C::Conflict { code, message } => Self::new(StatusCode::CONFLICT, code, message),
            C::Gone { code, message } => Self::new(StatusCode::GONE, code, message),
            C::Locked { code, message } => Self::new(StatusCode::LOCKED, code, message),
            C::Throttled {
                code,
                message,
                retry_after_secs,
            } => Self {
                retry_after: Some(retry_after_secs),
                ..Self::new(StatusCode::TOO_MANY_REQUESTS, code, message)
            },
            // Waits for an operator (a ceremony), not for a retry: no Retry-After.
            C::Unavailable { code, message } => {
                Self::new(StatusCode::SERVICE_UNAVAILABLE, code, message)
            }
            C::Internal(detail) => Self::internal(&detail),
        }
    }
}

/// 404 `key_not_found`, naming the key the caller asked for (a typo is then plain to see).
pub fn key_not_found(name: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "key_not_found",
        format!("key not found: {name}"),
    )
}

/// 413: the body is over `--max-body-bytes` (`max_body_bytes` in kms.toml), which the message states.
pub fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!(
            "request body is larger than the server's limit of {limit} bytes (max_body_bytes); \
             split it, e.g. into several batches"
        ),
    )
}

/// Turns actix's JSON extractor errors into ours (400 / 413). Any Content-Type is accepted (see
/// server.rs), so there is no 415.
pub fn json_error(
    err: actix_web::error::JsonPayloadError,
    _req: &actix_web::HttpRequest,
) -> actix_web::Error {
    use actix_web::error::JsonPayloadError as J;
    let api = match &err {
        J::OverflowKnownLength { limit, .. } | J::Overflow { limit } => too_large(*limit),
        J::Deserialize(e) => ApiError::bad_request("invalid_json", e.to_string()),
        other => ApiError::bad_request("invalid_json", other.to_string()),
    };
    api.into()
}

#[cfg(test)]
mod tests {
    use kms_engine::EngineError;
    use kms_engine::store::StoreError;
    use kms_hsm::HsmError;

    use super::*;

    /// An approval's stored result and a ceremony's failure carry the management center's code
    /// and public message; a client must read there what this mapping answers.
    #[test]
    fn the_management_center_shows_what_the_api_answers() {
        let errors = || {
            vec![
                ControlError::Internal("detail".into()),
                ControlError::Engine(EngineError::WorkerGone),
                ControlError::Engine(EngineError::KeyNotFound),
                ControlError::Store(StoreError::Unavailable("down".into())),
                ControlError::Store(StoreError::Backend("query".into())),
                ControlError::Store(StoreError::Conflict("approval")),
                ControlError::Store(StoreError::AlreadyExists("key")),
                ControlError::Hsm(HsmError::Timeout),
                ControlError::Hsm(HsmError::Pkcs11("CKR".into())),
                ControlError::Hsm(HsmError::Sealed),
                ControlError::invalid("invalid_request", "bad"),
                ControlError::conflict("approval_expired", "late"),
            ]
        };
        for (e, shown) in errors().into_iter().zip(errors()) {
            let (code, message) = (shown.code(), shown.public_message());
            let api = ApiError::from(e);
            assert_eq!((api.code, api.message.as_str()), (code, message.as_str()));
        }
    }
}
