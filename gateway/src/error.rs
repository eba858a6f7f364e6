//! The API's error type and the one place where errors of every layer become HTTP responses.
//!
//! Every error is `{"error":{"code":"snake_case","message":"..."}}`. Codes are stable: clients
//! branch on them. Internal errors are logged in full and answered with a generic message.

use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderValue, RETRY_AFTER};
use actix_web::{HttpResponse, ResponseError};
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
        let (status, code) = match &e {
            E::InvalidName { .. } => (StatusCode::BAD_REQUEST, "invalid_name"),
            E::InvalidArgument(_) => (StatusCode::BAD_REQUEST, "invalid_request"),
            E::InvalidBase64 { .. } => (StatusCode::BAD_REQUEST, "invalid_base64"),
            E::InvalidCiphertext(_) => (StatusCode::BAD_REQUEST, "invalid_ciphertext"),
            E::CiphertextTruncated => (StatusCode::BAD_REQUEST, "ciphertext_truncated"),
            E::UnsupportedAlgorithm(_) => (StatusCode::BAD_REQUEST, "unsupported_algorithm"),
            E::UnknownOperation(_) => (StatusCode::BAD_REQUEST, "unknown_operation"),
            E::OperationNotSupported(_) => (StatusCode::BAD_REQUEST, "operation_not_supported"),
            E::PlaintextTooLarge(_) => (StatusCode::BAD_REQUEST, "plaintext_too_large"),
            E::ContextNotSupported => (StatusCode::BAD_REQUEST, "context_not_supported"),
            E::InvalidSignatureInput(_) => (StatusCode::BAD_REQUEST, "invalid_signature_input"),
            E::InvalidSignature(_) => (StatusCode::BAD_REQUEST, "invalid_signature"),
            E::InvalidHmac(_) => (StatusCode::BAD_REQUEST, "invalid_hmac"),
            E::InvalidPolicy(_) => (StatusCode::BAD_REQUEST, "invalid_policy"),
            E::SourceNotAllowed => (StatusCode::FORBIDDEN, "source_not_allowed"),
            E::OutsideTimeWindow => (StatusCode::FORBIDDEN, "outside_time_window"),
            E::RateLimited { retry_after_secs } => {
                return Self {
                    retry_after: Some(*retry_after_secs),
                    ..Self::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", message)
                };
            }
            E::NotAPasswordKey => (StatusCode::BAD_REQUEST, "not_a_password_key"),
            E::EncryptedPasswordTooLarge(_) => {
                (StatusCode::BAD_REQUEST, "encrypted_password_too_large")
            }
            E::EncryptedPasswordLength(_) => (StatusCode::BAD_REQUEST, "encrypted_password_length"),
            E::PasswordDecryptionFailed => (StatusCode::BAD_REQUEST, "password_decryption_failed"),
            E::InvalidPasswordPayload(_) => (StatusCode::BAD_REQUEST, "invalid_password_payload"),
            E::ChallengeUnknown => (StatusCode::BAD_REQUEST, "challenge_unknown"),
            E::ChallengeExpired => (StatusCode::BAD_REQUEST, "challenge_expired"),
            E::ChallengeReused => (StatusCode::CONFLICT, "challenge_reused"),
            E::ChallengeWrongKey => (StatusCode::BAD_REQUEST, "challenge_wrong_key"),
            E::InvalidSalt(_) => (StatusCode::BAD_REQUEST, "invalid_salt"),
            E::InvalidProtected(_) => (StatusCode::BAD_REQUEST, "invalid_protected"),
            E::TooManyChallenges => return Self::unavailable("too_many_challenges", message),
            E::KeyNotFound => (StatusCode::NOT_FOUND, "key_not_found"),
            E::KeyVersionNotFound => (StatusCode::BAD_REQUEST, "key_version_not_found"),
            E::BelowMinDecryptionVersion => {
                (StatusCode::BAD_REQUEST, "below_min_decryption_version")
            }
            E::KeyVersionDisabled => (StatusCode::BAD_REQUEST, "key_version_disabled"),
            E::KeyVersionDestroyed => (StatusCode::BAD_REQUEST, "key_version_destroyed"),
            E::VersionsExhausted => (StatusCode::CONFLICT, "versions_exhausted"),
            E::DecryptionFailed => (StatusCode::BAD_REQUEST, "decryption_failed"),
            E::Overloaded => return Self::unavailable("overloaded", message),
            E::Sealed => return Self::unavailable("sealed", message),
            E::HsmUnavailable => return Self::unavailable("hsm_unavailable", message),
            E::SyncTimeout => return Self::unavailable("sync_timeout", message),
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
        match &e {
            StoreError::AlreadyExists(what) => {
                let code = match *what {
                    "key" => "key_exists",
                    "app" => "app_exists",
                    "user" => "user_exists",
                    "vote" => "already_voted",
                    "certificate" => "certificate_already_bound",
                    "zone" => "zone_exists",
                    _ => "already_exists",
                };
                Self::new(StatusCode::CONFLICT, code, e.to_string())
            }
            StoreError::NotFound(what) => {
                let code = match *what {
                    "key" => "key_not_found",
                    "app" => "app_not_found",
                    "user" => "user_not_found",
                    "session" => "session_not_found",
                    _ => "not_found",
                };
                Self::new(StatusCode::NOT_FOUND, code, e.to_string())
            }
            StoreError::Conflict("approval") => Self::new(
                StatusCode::CONFLICT,
                "approval_closed",
                "the request is no longer pending (approved, rejected, expired or executed)",
            ),
            StoreError::Conflict(_) => Self::new(StatusCode::CONFLICT, "conflict", e.to_string()),
            StoreError::Unavailable(_) => {
                tracing::warn!(error = %e, "store unavailable");
                Self::unavailable("store_unavailable", "the key store is unavailable")
            }
            StoreError::Backend(_) | StoreError::Corrupt(_) => Self::internal(&e),
        }
    }
}

impl From<HsmError> for ApiError {
    fn from(e: HsmError) -> Self {
        let message = e.to_string();
        match e {
            HsmError::Sealed => Self::unavailable("sealed", message),
            HsmError::NotInitialized => Self::unavailable("not_initialized", message),
            HsmError::AlreadyInitialized => {
                Self::new(StatusCode::CONFLICT, "already_initialized", message)
            }
            HsmError::InvalidShare(_) => Self::bad_request("invalid_share", message),
            HsmError::WrongShares => Self::bad_request("wrong_shares", message),
            HsmError::InvalidParameters(_) => Self::bad_request("invalid_request", message),
            HsmError::InvalidComponent(_) => Self::bad_request("invalid_component", message),
            HsmError::KcvMismatch { .. } => Self::bad_request("kcv_mismatch", message),
            HsmError::NotSupported(_) => Self::bad_request("not_supported", message),
            HsmError::Busy | HsmError::Timeout | HsmError::Stopped | HsmError::Unavailable(_) => {
                tracing::warn!(error = %e, "HSM unavailable");
                Self::unavailable("hsm_unavailable", "the HSM is unavailable; retry shortly")
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

/// Turns actix's JSON extractor errors into ours (400 / 413). Any Content-Type is accepted (see
/// server.rs), so there is no 415.
pub fn json_error(
    err: actix_web::error::JsonPayloadError,
    _req: &actix_web::HttpRequest,
) -> actix_web::Error {
    use actix_web::error::JsonPayloadError as J;
    let api = match &err {
        J::OverflowKnownLength { .. } | J::Overflow { .. } => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "request body is larger than the server's limit",
        ),
        J::Deserialize(e) => ApiError::bad_request("invalid_json", e.to_string()),
        other => ApiError::bad_request("invalid_json", other.to_string()),
    };
    api.into()
}
