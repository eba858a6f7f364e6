//! Driver errors as the store's errors, written once for both backends.

use kms_engine::store::StoreError;

use super::unavailable_state;

/// Maps a driver error. Connection-level failures mean the store is unavailable (and so do the
/// database error codes the backend's `unavailable_state` names); the rest are query failures.
pub(crate) fn db_err(e: sqlx::Error) -> StoreError {
    match e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => StoreError::Unavailable(Box::new(e)),
        sqlx::Error::Database(ref d) if d.code().is_some_and(|c| unavailable_state(&c)) => {
            StoreError::Unavailable(Box::new(e))
        }
        other => StoreError::Backend(Box::new(other)),
    }
}

/// True when `e` is a UNIQUE or PRIMARY KEY violation.
pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

/// Maps a UNIQUE or PRIMARY KEY violation to `on_duplicate`, anything else as [`db_err`].
pub(crate) fn unique_err(on_duplicate: StoreError) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |e| {
        if is_unique_violation(&e) {
            on_duplicate
        } else {
            db_err(e)
        }
    }
}
