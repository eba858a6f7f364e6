//! The engine's error enum. User errors (bad input, missing key, refused state) are kept apart
//! from internal ones: in a batch a user error is that item's result, an internal error fails the
//! whole request.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum EngineError {
    // ---- caller's input ----
    #[error("invalid {kind} name: {reason}")]
    InvalidName {
        kind: &'static str,
        reason: &'static str,
    },
    #[error("{0}")]
    InvalidArgument(String),
    #[error("field `{field}` is not valid base64")]
    InvalidBase64 { field: &'static str },
    #[error("ciphertext is malformed: {0}")]
    InvalidCiphertext(&'static str),
    #[error("ciphertext is too short to hold a nonce and a tag")]
    CiphertextTruncated,
    /// `valid` lists the names this API accepts (native and Transit differ).
    #[error("unsupported algorithm `{name}`; valid: {valid}")]
    UnsupportedAlgorithm { name: String, valid: String },
    #[error("unknown operation `{0}`")]
    UnknownOperation(String),
    #[error("the key's algorithm does not support `{0}`")]
    OperationNotSupported(&'static str),
    #[error("plaintext is larger than this key can encrypt ({0} bytes at most)")]
    PlaintextTooLarge(usize),
    #[error("this key's algorithm cannot bind a context; send none")]
    ContextNotSupported,
    #[error("invalid signature input: {0}")]
    InvalidSignatureInput(&'static str),
    #[error("signature is malformed: {0}")]
    InvalidSignature(&'static str),
    #[error("hmac is malformed: {0}")]
    InvalidHmac(&'static str),
    #[error("invalid usage policy: {0}")]
    InvalidPolicy(String),

    // ---- the key's usage policy (apps only) ----
    #[error("the key's usage policy does not allow calls from this address")]
    SourceNotAllowed,
    #[error("the key's usage policy does not allow calls at this time")]
    OutsideTimeWindow,
    #[error("this app is over the key's rate limit; retry in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u32 },
    #[error(
        "this batch of {items} items is larger than the key's rate-limit burst of {burst}; \
         send at most {burst} items per request"
    )]
    BatchOverRateBurst { items: u64, burst: u64 },

    // ---- password keys (docs/passwords.md) ----
    #[error("this endpoint needs a key created with purpose `password`")]
    NotAPasswordKey,
    #[error("encrypted_password is larger than this key's RSA ciphertexts ({0} bytes)")]
    EncryptedPasswordTooLarge(usize),
    #[error("encrypted_password is not {0} bytes long: it was not made with this key")]
    EncryptedPasswordLength(usize),
    /// Wrong padding, another key of the same size, or a version rotated away: RSA-OAEP cannot
    /// tell these apart, and saying which check failed would help an attacker.
    #[error("encrypted_password could not be decrypted with this key (RSA-OAEP-SHA256)")]
    PasswordDecryptionFailed,
    #[error("the decrypted password payload is malformed: {0}")]
    InvalidPasswordPayload(&'static str),
    #[error("the challenge is unknown")]
    ChallengeUnknown,
    #[error("the challenge has expired; fetch a new one")]
    ChallengeExpired,
    #[error("the challenge has already been used")]
    ChallengeReused,
    #[error("the challenge was issued for another key")]
    ChallengeWrongKey,
    #[error("too many outstanding challenges; retry shortly")]
    TooManyChallenges,
    #[error(
        "this caller or key has its share of outstanding challenges; retry in {retry_after_secs} s"
    )]
    ChallengeQuotaExceeded { retry_after_secs: u32 },
    #[error("invalid salt: {0}")]
    InvalidSalt(&'static str),
    #[error("protected value is malformed: {0}")]
    InvalidProtected(&'static str),

    // ---- the key's state ----
    #[error("key not found")]
    KeyNotFound,
    #[error("key version not found")]
    KeyVersionNotFound,
    #[error("key version is below the key's minimum decryption version")]
    BelowMinDecryptionVersion,
    #[error("key version is disabled")]
    KeyVersionDisabled,
    #[error("key version is destroyed or scheduled for destruction")]
    KeyVersionDestroyed,
    #[error("the key has used up its 99999 versions")]
    VersionsExhausted,
    /// Deliberately says nothing about which check failed (tag, context, key or header).
    #[error("decryption failed")]
    DecryptionFailed,

    // ---- zone transport and node-local sealing (zone.rs, node_kek.rs) ----
    /// Wrong zone key, another key or version, altered, truncated or of an unknown format: one
    /// error, so that it says nothing about which check failed.
    #[error("the transport-wrapped key does not open with this zone key for this key version")]
    TransportUnwrapFailed,
    /// Sealed by another node's KEK, for another purpose, or altered.
    #[error("node-sealed data does not open with this node's key-encryption key")]
    NodeSealOpenFailed,

    // ---- capacity and availability ----
    #[error("the crypto workers are saturated; retry shortly")]
    Overloaded,
    #[error("the KMS is sealed")]
    Sealed,
    #[error("the HSM is unavailable")]
    HsmUnavailable,
    #[error("timed out waiting for the key directory to catch up with the store")]
    SyncTimeout,

    // ---- internal ----
    #[error("stored record is corrupt: {0}")]
    CorruptRecord(&'static str),
    #[error("a working key's material failed its integrity check")]
    KeyMaterialCorrupt,
    #[error("the crypto worker pool has stopped")]
    WorkerGone,
}

impl EngineError {
    /// The stable, machine-readable code clients branch on (the gateway answers it as
    /// `error.code`; internal failures are all `internal`).
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidName { .. } => "invalid_name",
            Self::InvalidArgument(_) => "invalid_request",
            Self::InvalidBase64 { .. } => "invalid_base64",
            Self::InvalidCiphertext(_) => "invalid_ciphertext",
            Self::CiphertextTruncated => "ciphertext_truncated",
            Self::UnsupportedAlgorithm { .. } => "unsupported_algorithm",
            Self::UnknownOperation(_) => "unknown_operation",
            Self::OperationNotSupported(_) => "operation_not_supported",
            Self::PlaintextTooLarge(_) => "plaintext_too_large",
            Self::ContextNotSupported => "context_not_supported",
            Self::InvalidSignatureInput(_) => "invalid_signature_input",
            Self::InvalidSignature(_) => "invalid_signature",
            Self::InvalidHmac(_) => "invalid_hmac",
            Self::InvalidPolicy(_) => "invalid_policy",
            Self::SourceNotAllowed => "source_not_allowed",
            Self::OutsideTimeWindow => "outside_time_window",
            Self::RateLimited { .. } => "rate_limited",
            Self::BatchOverRateBurst { .. } => "batch_over_rate_burst",
            Self::NotAPasswordKey => "not_a_password_key",
            Self::EncryptedPasswordTooLarge(_) => "encrypted_password_too_large",
            Self::EncryptedPasswordLength(_) => "encrypted_password_length",
            Self::PasswordDecryptionFailed => "password_decryption_failed",
            Self::InvalidPasswordPayload(_) => "invalid_password_payload",
            Self::ChallengeUnknown => "challenge_unknown",
            Self::ChallengeExpired => "challenge_expired",
            Self::ChallengeReused => "challenge_reused",
            Self::ChallengeWrongKey => "challenge_wrong_key",
            Self::InvalidSalt(_) => "invalid_salt",
            Self::InvalidProtected(_) => "invalid_protected",
            Self::TooManyChallenges => "too_many_challenges",
            Self::ChallengeQuotaExceeded { .. } => "challenge_quota_exceeded",
            Self::KeyNotFound => "key_not_found",
            Self::KeyVersionNotFound => "key_version_not_found",
            Self::BelowMinDecryptionVersion => "below_min_decryption_version",
            Self::KeyVersionDisabled => "key_version_disabled",
            Self::KeyVersionDestroyed => "key_version_destroyed",
            Self::VersionsExhausted => "versions_exhausted",
            Self::DecryptionFailed => "decryption_failed",
            Self::Overloaded => "overloaded",
            Self::Sealed => "sealed",
            Self::HsmUnavailable => "hsm_unavailable",
            Self::SyncTimeout => "sync_timeout",
            Self::CorruptRecord(_)
            | Self::KeyMaterialCorrupt
            | Self::TransportUnwrapFailed
            | Self::NodeSealOpenFailed
            | Self::WorkerGone => "internal",
        }
    }

    /// A usage policy that cannot be accepted, saying why.
    pub fn invalid_policy(message: impl Into<String>) -> Self {
        EngineError::InvalidPolicy(message.into())
    }

    /// True for errors caused by the request or the key's state, which a batch reports per item.
    pub fn is_user_error(&self) -> bool {
        !matches!(
            self,
            EngineError::Overloaded
                | EngineError::TooManyChallenges
                | EngineError::Sealed
                | EngineError::HsmUnavailable
                | EngineError::SyncTimeout
                | EngineError::CorruptRecord(_)
                | EngineError::KeyMaterialCorrupt
                | EngineError::TransportUnwrapFailed
                | EngineError::NodeSealOpenFailed
                | EngineError::WorkerGone
        )
    }
}
