//! The service's errors: one vocabulary for every surface, each of which renders it in its
//! own envelope in one place.

use grantd_core::Invalid;
use grantd_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The request's content is wrong; every wrong field is named.
    #[error("validation failed: {0}")]
    Invalid(#[from] Invalid),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0} already exists")]
    AlreadyExists(String),
    /// `If-Match` or `If-None-Match` did not hold.
    #[error("{0}")]
    PreconditionFailed(String),
    /// The write would leave the model inconsistent (a cycle, a dangling reference).
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// The index could not reach the freshness the request asked for in time.
    #[error("{0}")]
    Stale(String),
    /// The store cannot take requests now; the client may retry.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// A bug or damaged data; the message is logged, never shown.
    #[error("internal error: {0}")]
    Internal(String),
}

pub type ServiceResult<T> = Result<T, ServiceError>;

/// What every surface tells a client when the store cannot take the request; the cause
/// goes to the log (and to `/readyz`), not to the client.
pub const UNAVAILABLE_MESSAGE: &str = "the store is unavailable; retry later (nothing was written)";

impl ServiceError {
    /// Maps a store error about the object `what` (e.g. `user u1`).
    pub fn from_store(error: StoreError, what: &str) -> ServiceError {
        match error {
            StoreError::NotFound => ServiceError::NotFound(what.to_string()),
            StoreError::AlreadyExists => ServiceError::AlreadyExists(what.to_string()),
            StoreError::VersionMismatch { current } => ServiceError::PreconditionFailed(format!(
                "{what} is at version {current}, not the one given in If-Match"
            )),
            StoreError::Unavailable(m) => ServiceError::Unavailable(m),
            StoreError::Internal(m) => ServiceError::Internal(m),
        }
    }
}

impl From<StoreError> for ServiceError {
    fn from(error: StoreError) -> Self {
        ServiceError::from_store(error, "object")
    }
}
