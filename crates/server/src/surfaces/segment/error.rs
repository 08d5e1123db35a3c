//! Segment's error envelope: `{"errors": [{"type", "message", "field"?, "data"?}]}`, for
//! every failure, 401 and 429 included (the official SDK crashes on any other shape).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use grantd_core::FieldError;
use serde::Serialize;
use serde_json::Value;

use crate::service::{ServiceError, UNAVAILABLE_MESSAGE};

#[derive(Debug, Clone, Serialize)]
pub struct ErrorEntry {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

#[derive(Debug)]
pub struct SegmentError {
    pub status: StatusCode,
    pub errors: Vec<ErrorEntry>,
}

#[derive(Serialize)]
struct Envelope<'a> {
    errors: &'a [ErrorEntry],
}

impl SegmentError {
    pub fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Self {
        SegmentError {
            status,
            errors: vec![ErrorEntry {
                kind,
                message: message.into(),
                field: None,
                data: None,
            }],
        }
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "Unauthorized", message)
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "NotFound", "Resource not found")
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "BadRequest", message)
    }

    /// A 422 with one entry per wrong field, as Segment's request validation answers.
    pub fn invalid(fields: Vec<FieldError>) -> Self {
        SegmentError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            errors: fields
                .into_iter()
                .map(|f| ErrorEntry {
                    kind: "input-validation",
                    message: f.message,
                    field: Some(f.field),
                    data: None,
                })
                .collect(),
        }
    }

    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::invalid(vec![FieldError {
            field: field.into(),
            message: message.into(),
        }])
    }
}

impl From<ServiceError> for SegmentError {
    fn from(error: ServiceError) -> Self {
        match error {
            ServiceError::Invalid(invalid) => SegmentError::invalid(invalid.0),
            ServiceError::NotFound(_) => SegmentError::not_found(),
            ServiceError::AlreadyExists(what) => SegmentError::new(
                StatusCode::CONFLICT,
                "Conflict",
                format!("{what} already exists"),
            ),
            ServiceError::PreconditionFailed(m) => {
                SegmentError::new(StatusCode::CONFLICT, "Conflict", m)
            }
            ServiceError::Conflict { message, .. } => {
                SegmentError::new(StatusCode::CONFLICT, "Conflict", message)
            }
            ServiceError::Stale(m) => {
                SegmentError::new(StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable", m)
            }
            ServiceError::Unavailable(m) => {
                tracing::warn!(error = %m, "store unavailable");
                SegmentError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "ServiceUnavailable",
                    UNAVAILABLE_MESSAGE,
                )
            }
            ServiceError::Internal(m) => {
                tracing::error!(error = %m, "internal error");
                SegmentError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "InternalServerError",
                    "internal error; the request id identifies it in the server log",
                )
            }
        }
    }
}

impl From<grantd_core::Invalid> for SegmentError {
    fn from(invalid: grantd_core::Invalid) -> Self {
        SegmentError::invalid(invalid.0)
    }
}

impl IntoResponse for SegmentError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            Json(Envelope {
                errors: &self.errors,
            }),
        )
            .into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        response
    }
}

pub type SegmentResult<T> = Result<T, SegmentError>;
