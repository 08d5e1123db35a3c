//! The native API's error envelope and its one table from error to HTTP status:
//! `{"error": {"code", "message", "details"?}}`. Codes are stable; messages are for people.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use grantd_core::FieldError;
use serde::Serialize;
use utoipa::ToSchema;

use crate::service::{ServiceError, UNAVAILABLE_MESSAGE};

/// Every code the native API answers with, its status and meaning (listed in the OpenAPI
/// document).
pub const CODES: &[(&str, u16, &str)] = &[
    (
        "bad_request",
        400,
        "The request is malformed: JSON syntax, a bad cursor or query parameter.",
    ),
    (
        "unauthenticated",
        401,
        "No bearer token, or one that stands for nobody.",
    ),
    (
        "forbidden",
        403,
        "The token may not do this: wrong scope, or another tenant's data.",
    ),
    ("not_found", 404, "No such route, tenant or object."),
    (
        "method_not_allowed",
        405,
        "The route does not take this method.",
    ),
    (
        "already_exists",
        409,
        "An object with this key already exists.",
    ),
    (
        "cycle_detected",
        409,
        "The write would make group nesting, role inclusion or resource parents cyclic.",
    ),
    (
        "still_referenced",
        409,
        "The object cannot be deleted while another refers to it.",
    ),
    (
        "derived_object",
        409,
        "The object was written on behalf of a compatible surface's object (a Segment policy, a SlashID role, a DataArts permission set), which owns it: change that instead.",
    ),
    (
        "precondition_failed",
        412,
        "If-Match or If-None-Match did not hold; nothing was written.",
    ),
    (
        "request_timeout",
        408,
        "The request took longer than request_timeout_secs and was abandoned; a write may still have committed, so read before retrying.",
    ),
    (
        "payload_too_large",
        413,
        "The body is larger than the configured limit.",
    ),
    (
        "unsupported_media_type",
        415,
        "The body is not application/json.",
    ),
    (
        "validation_failed",
        422,
        "The body is well-formed JSON but some fields are wrong; details name each.",
    ),
    (
        "rate_limited",
        429,
        "The token or tenant made more requests of this class of route this minute than its limit, or this client address sent too many without a valid token; retry after the reset.",
    ),
    (
        "internal",
        500,
        "A fault in grantd; the request id finds it in the log.",
    ),
    (
        "unavailable",
        503,
        "The store cannot be reached; retry later. Nothing was written.",
    ),
    (
        "consistency_timeout",
        503,
        "This node's index did not reach the requested revision in time; retry, or ask for less freshness.",
    ),
];

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// A stable, machine-readable code.
    pub code: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<FieldError>,
}

#[derive(Debug)]
pub struct ApiError {
    pub code: &'static str,
    pub message: String,
    pub details: Vec<FieldError>,
}

impl ApiError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            details: Vec::new(),
        }
    }

    pub fn status(&self) -> StatusCode {
        CODES
            .iter()
            .find(|(code, _, _)| *code == self.code)
            .and_then(|(_, status, _)| StatusCode::from_u16(*status).ok())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl From<ServiceError> for ApiError {
    fn from(error: ServiceError) -> Self {
        match error {
            ServiceError::Invalid(invalid) => ApiError {
                code: "validation_failed",
                message: format!(
                    "the request has {} invalid field(s): {invalid}",
                    invalid.0.len()
                ),
                details: invalid.0,
            },
            ServiceError::NotFound(what) => {
                ApiError::new("not_found", format!("{what} does not exist"))
            }
            ServiceError::AlreadyExists(what) => {
                ApiError::new("already_exists", format!("{what} already exists"))
            }
            ServiceError::PreconditionFailed(m) => ApiError::new("precondition_failed", m),
            ServiceError::Conflict { code, message } => ApiError::new(code, message),
            ServiceError::Stale(m) => ApiError::new("consistency_timeout", m),
            ServiceError::Unavailable(m) => {
                tracing::warn!(error = %m, "store unavailable");
                ApiError::new("unavailable", UNAVAILABLE_MESSAGE)
            }
            ServiceError::Internal(m) => {
                tracing::error!(error = %m, "internal error");
                ApiError::new(
                    "internal",
                    "internal error; the request id identifies it in the server log",
                )
            }
        }
    }
}

impl From<grantd_core::Invalid> for ApiError {
    fn from(invalid: grantd_core::Invalid) -> Self {
        ServiceError::Invalid(invalid).into()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: self.message,
                details: self.details,
            },
        };
        (status, Json(body)).into_response()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_a_status() {
        for (code, status, _) in CODES {
            assert_eq!(ApiError::new(code, "").status().as_u16(), *status);
        }
        assert_eq!(
            ApiError::new("no-such-code", "").status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
}
