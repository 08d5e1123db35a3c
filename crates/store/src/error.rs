//! The store's errors, in the domain's words: no database error type leaks past this crate.

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("already exists")]
    AlreadyExists,
    /// A conditional write found another version.
    #[error("version mismatch: the object is at version {current}")]
    VersionMismatch { current: i64 },
    /// The database cannot be reached or cannot take the write (connection lost, disk full).
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// Anything else: a bug or a damaged database. The message goes to the log only.
    #[error("store failure: {0}")]
    Internal(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        use sqlx::error::ErrorKind;
        match &error {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::Database(db) if db.kind() == ErrorKind::UniqueViolation => {
                StoreError::AlreadyExists
            }
            sqlx::Error::Database(db) if is_unavailable_code(db.code().as_deref()) => {
                StoreError::Unavailable(db.message().to_string())
            }
            sqlx::Error::Io(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed
            | sqlx::Error::Tls(_) => StoreError::Unavailable(error.to_string()),
            _ => StoreError::Internal(error.to_string()),
        }
    }
}

/// Database codes that mean "try again later" rather than "this request is wrong":
/// SQLite's BUSY (5), FULL (13), IOERR (10) and their extended forms; PostgreSQL's
/// connection (08), resource (53) and operator-intervention (57) classes.
fn is_unavailable_code(code: Option<&str>) -> bool {
    let Some(code) = code else { return false };
    if let Ok(n) = code.parse::<i64>() {
        return matches!(n & 0xff, 5 | 10 | 13);
    }
    code.starts_with("08") || code.starts_with("53") || code.starts_with("57")
}

impl From<serde_json::Error> for StoreError {
    fn from(error: serde_json::Error) -> Self {
        StoreError::Internal(format!("stored document is not valid JSON: {error}"))
    }
}
