//! The management center's error: the engine's, the store's and the HSM's errors as they are, and
//! its own refusals, each with a stable machine-readable code and a human message. The gateway maps
//! every variant to an HTTP status in one place (gateway/src/error.rs).

use kms_engine::EngineError;
use kms_engine::store::StoreError;
use kms_hsm::HsmError;

#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Hsm(#[from] HsmError),
    /// The request is wrong; the caller can fix it.
    #[error("{message}")]
    Invalid { code: &'static str, message: String },
    /// Wrong credentials: unknown user, wrong password or code.
    #[error("{message}")]
    Unauthenticated { code: &'static str, message: String },
    /// The caller may not do this (a rule, not a missing role: roles are the gateway's check).
    #[error("{message}")]
    Forbidden { code: &'static str, message: String },
    /// What the request names does not exist.
    #[error("{message}")]
    NotFound { code: &'static str, message: String },
    /// The current state does not allow it (closed, running, already done).
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// It existed and has ended for good (an expired ceremony).
    #[error("{message}")]
    Gone { code: &'static str, message: String },
    /// Too many attempts: retry after a while.
    #[error("{message}")]
    Throttled {
        code: &'static str,
        message: String,
        retry_after_secs: u32,
    },
    /// The account is locked for a while.
    #[error("{message}")]
    Locked { code: &'static str, message: String },
    /// Not possible until an operator acts (the KMS has no master key yet).
    #[error("{message}")]
    Unavailable { code: &'static str, message: String },
    /// A broken invariant or a failed task: logged in full, answered generically.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ControlError {
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid {
            code,
            message: message.into(),
        }
    }

    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::Forbidden {
            code,
            message: message.into(),
        }
    }

    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::NotFound {
            code,
            message: message.into(),
        }
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::Conflict {
            code,
            message: message.into(),
        }
    }

    pub fn unavailable(code: &'static str, message: impl Into<String>) -> Self {
        Self::Unavailable {
            code,
            message: message.into(),
        }
    }

    /// A failure that is not the caller's: a join error, a poisoned lock, a bad stored record.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        Self::Internal(detail.to_string())
    }

    /// The stable, machine-readable code of any of them (`internal` for internal failures).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Invalid { code, .. }
            | Self::Unauthenticated { code, .. }
            | Self::Forbidden { code, .. }
            | Self::NotFound { code, .. }
            | Self::Conflict { code, .. }
            | Self::Gone { code, .. }
            | Self::Throttled { code, .. }
            | Self::Locked { code, .. }
            | Self::Unavailable { code, .. } => code,
            Self::Engine(e) => e.code(),
            Self::Store(e) => e.code(),
            Self::Hsm(e) => e.code(),
            Self::Internal(_) => "internal",
        }
    }

    /// The message a client may see: what `Display` says, except for failures whose detail
    /// belongs in the server log only (the gateway answers the same; a test there checks it).
    pub fn public_message(&self) -> String {
        match self {
            Self::Internal(_)
            | Self::Engine(
                EngineError::CorruptRecord(_)
                | EngineError::KeyMaterialCorrupt
                | EngineError::TransportUnwrapFailed
                | EngineError::NodeSealOpenFailed
                | EngineError::WorkerGone,
            )
            | Self::Store(StoreError::Backend(_) | StoreError::Corrupt(_)) => {
                "internal error; see the server log".into()
            }
            Self::Store(StoreError::Unavailable(_)) => "the key store is unavailable".into(),
            Self::Store(StoreError::Conflict("approval")) => {
                "the request is no longer pending (approved, rejected, expired or executed)".into()
            }
            Self::Hsm(e) if e.code() == "hsm_unavailable" => {
                "the HSM is unavailable; retry shortly".into()
            }
            Self::Hsm(e) if e.code() == "internal" => "internal error; see the server log".into(),
            other => other.to_string(),
        }
    }
}
