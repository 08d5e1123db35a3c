//! DataArts' error envelope: `{"error_code", "error_msg"}`, with the gateway's codes for
//! authentication and DataArts Security's for the rest. Like the real service, a missing
//! permission set is a 400 with `DLS.3027` (or `DLS.6036` when listing what it holds).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::service::{ServiceError, UNAVAILABLE_MESSAGE};

/// Every code grantd's DataArts surface answers with.
pub mod code {
    /// A parameter is wrong (grantd's code; the message names the field).
    pub const INVALID: &str = "DLS.0001";
    /// The permission set does not exist.
    pub const NO_SET: &str = "DLS.3027";
    /// The permission set whose members or permissions are listed does not exist.
    pub const NO_SET_LISTED: &str = "DLS.6036";
    /// The permission or member does not exist (grantd's code).
    pub const NO_ITEM: &str = "DLS.3028";
    /// The change conflicts with what exists (grantd's code).
    pub const CONFLICT: &str = "DLS.3030";
    /// The token or key may not do this, or not in this project (grantd's code).
    pub const FORBIDDEN: &str = "DLS.0403";
    /// No such path (grantd's code).
    pub const NO_ROUTE: &str = "DLS.0404";
    /// The request took longer than the request timeout (grantd's code).
    pub const TIMEOUT: &str = "DLS.0408";
    /// The service cannot answer now (grantd's code).
    pub const UNAVAILABLE: &str = "DLS.0503";
    pub const INTERNAL: &str = "DLS.0500";
    /// Incorrect IAM authentication information (the gateway's).
    pub const BAD_AUTH: &str = "APIGW.0301";
    /// The signature's date is outside the 15-minute window (the gateway's).
    pub const EXPIRED: &str = "APIGW.0303";
    /// Too many requests (the gateway's throttling code).
    pub const THROTTLED: &str = "APIGW.0308";
}

#[derive(Debug)]
pub struct DataArtsError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl DataArtsError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        DataArtsError {
            status,
            code,
            message: message.into(),
        }
    }

    /// 400 `DLS.0001` naming the field.
    pub fn invalid(field: &str, why: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            code::INVALID,
            format!("Invalid parameter: {field}: {why}"),
        )
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, message)
    }

    pub fn no_set(id: &str) -> Self {
        Self::bad_request(code::NO_SET, format!("permission set {id} does not exist"))
    }
}

impl From<ServiceError> for DataArtsError {
    fn from(error: ServiceError) -> Self {
        match error {
            ServiceError::Invalid(invalid) => {
                let first = invalid.0.first();
                DataArtsError::invalid(
                    first.map(|f| f.field.as_str()).unwrap_or("body"),
                    invalid
                        .0
                        .iter()
                        .map(|f| format!("{}: {}", f.field, f.message))
                        .collect::<Vec<_>>()
                        .join("; "),
                )
            }
            ServiceError::NotFound(what) => {
                DataArtsError::bad_request(code::NO_ITEM, format!("{what} does not exist"))
            }
            ServiceError::AlreadyExists(what) => {
                DataArtsError::bad_request(code::CONFLICT, format!("{what} already exists"))
            }
            ServiceError::PreconditionFailed(m) | ServiceError::Conflict { message: m, .. } => {
                DataArtsError::bad_request(code::CONFLICT, m)
            }
            ServiceError::Stale(m) => {
                DataArtsError::new(StatusCode::SERVICE_UNAVAILABLE, code::UNAVAILABLE, m)
            }
            ServiceError::Unavailable(m) => {
                tracing::warn!(error = %m, "store unavailable");
                DataArtsError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    code::UNAVAILABLE,
                    UNAVAILABLE_MESSAGE,
                )
            }
            ServiceError::Internal(m) => {
                tracing::error!(error = %m, "internal error");
                DataArtsError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    code::INTERNAL,
                    "internal error; the request id identifies it in the server log",
                )
            }
        }
    }
}

impl From<grantd_core::Invalid> for DataArtsError {
    fn from(invalid: grantd_core::Invalid) -> Self {
        ServiceError::Invalid(invalid).into()
    }
}

impl IntoResponse for DataArtsError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(json!({"error_code": self.code, "error_msg": self.message})),
        )
            .into_response()
    }
}

pub type DataArtsResult<T> = Result<T, DataArtsError>;
