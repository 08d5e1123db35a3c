//! SlashID's error envelope: `{"errors": [{"httpcode", "message"}]}` for every failure.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::service::{ServiceError, UNAVAILABLE_MESSAGE};

#[derive(Debug)]
pub struct SlashIdError {
    pub status: StatusCode,
    pub message: String,
}

impl SlashIdError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        SlashIdError {
            status,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }
}

impl From<ServiceError> for SlashIdError {
    fn from(error: ServiceError) -> Self {
        match error {
            ServiceError::Invalid(invalid) => SlashIdError::bad_request(invalid.to_string()),
            ServiceError::NotFound(what) => SlashIdError::not_found(format!("{what} not found")),
            ServiceError::AlreadyExists(what) => {
                SlashIdError::new(StatusCode::CONFLICT, format!("{what} already exists"))
            }
            ServiceError::PreconditionFailed(m) => {
                SlashIdError::new(StatusCode::PRECONDITION_FAILED, m)
            }
            ServiceError::Conflict { message, .. } => {
                SlashIdError::new(StatusCode::CONFLICT, message)
            }
            ServiceError::Stale(m) => SlashIdError::new(StatusCode::REQUEST_TIMEOUT, m),
            ServiceError::Unavailable(m) => {
                tracing::warn!(error = %m, "store unavailable");
                SlashIdError::new(StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE_MESSAGE)
            }
            ServiceError::Internal(m) => {
                tracing::error!(error = %m, "internal error");
                SlashIdError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal error; the request id identifies it in the server log",
                )
            }
        }
    }
}

impl From<grantd_core::Invalid> for SlashIdError {
    fn from(invalid: grantd_core::Invalid) -> Self {
        SlashIdError::bad_request(invalid.to_string())
    }
}

impl IntoResponse for SlashIdError {
    fn into_response(self) -> Response {
        let body = json!({"errors": [{"httpcode": self.status.as_u16(), "message": self.message}]});
        (self.status, Json(body)).into_response()
    }
}

pub type SlashIdResult<T> = Result<T, SlashIdError>;
