//! Reading a request body that must be JSON, for every surface; each renders the errors
//! in its own envelope.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;

/// Why a body could not be read.
#[derive(Debug)]
pub enum BodyError {
    /// The Content-Type is not JSON (`application/json` or any `+json` type).
    NotJson,
    /// The body is larger than the configured limit.
    TooLarge,
    /// Reading it failed otherwise.
    Unreadable(String),
}

/// The body's bytes, if it is JSON within the limit. A body sent with no Content-Type is
/// read as JSON when `lenient`.
pub async fn json_bytes<S: Send + Sync>(
    request: Request,
    state: &S,
    lenient: bool,
) -> Result<Bytes, BodyError> {
    let essence = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim().as_bytes());
    let json = match essence {
        None => lenient,
        Some(e) => {
            e.eq_ignore_ascii_case(b"application/json")
                || e.len() >= 5 && e[e.len() - 5..].eq_ignore_ascii_case(b"+json")
        }
    };
    if !json {
        return Err(BodyError::NotJson);
    }
    Bytes::from_request(request, state)
        .await
        .map_err(|e| match e {
            BytesRejection::FailedToBufferBody(_) => BodyError::TooLarge,
            other => BodyError::Unreadable(other.body_text()),
        })
}
