//! What a store call can fail with, and the stable code each failure is answered with.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("{0} already exists")]
    AlreadyExists(&'static str),
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A concurrent change won (e.g. two rotations of one key); the caller may retry.
    #[error("conflicting concurrent change to {0}")]
    Conflict(&'static str),
    #[error("the store is unavailable: {0}")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("store query failed: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// The stable, machine-readable code clients branch on (the gateway answers it as
    /// `error.code`; backend failures are `internal`).
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::AlreadyExists(what) => match *what {
                "key" => "key_exists",
                "app" => "app_exists",
                "user" => "user_exists",
                "vote" => "already_voted",
                "certificate" => "certificate_already_bound",
                "zone" => "zone_exists",
                _ => "already_exists",
            },
            StoreError::NotFound(what) => match *what {
                "key" => "key_not_found",
                "app" => "app_not_found",
                "user" => "user_not_found",
                "session" => "session_not_found",
                _ => "not_found",
            },
            StoreError::Conflict("approval") => "approval_closed",
            StoreError::Conflict(_) => "conflict",
            StoreError::Unavailable(_) => "store_unavailable",
            StoreError::Backend(_) | StoreError::Corrupt(_) => "internal",
        }
    }
}
