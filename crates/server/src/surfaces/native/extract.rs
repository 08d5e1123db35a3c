//! Extractors whose rejections speak the native envelope: JSON bodies, query strings and
//! path parameters. A client mistake here is always a 4xx naming what to fix.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::error::ApiError;

/// The body's bytes, if it is JSON (`application/json` or any `+json` type) within the limit.
async fn json_bytes<S: Send + Sync>(request: Request, state: &S) -> Result<Bytes, ApiError> {
    let content_type = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_string();
    if essence != "application/json" && !essence.ends_with("+json") {
        return Err(ApiError::new(
            "unsupported_media_type",
            "send the body as JSON with `Content-Type: application/json`",
        ));
    }
    Bytes::from_request(request, state)
        .await
        .map_err(|e| match e {
            BytesRejection::FailedToBufferBody(_) => ApiError::new(
                "payload_too_large",
                "the request body is larger than the server accepts (see max_body_bytes)",
            ),
            other => ApiError::new("bad_request", other.body_text()),
        })
}

/// A JSON body as a `Value`: syntactically valid JSON.
pub struct JsonBody(pub Value);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = json_bytes(request, state).await?;
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|e| ApiError::new("bad_request", format!("the body is not valid JSON: {e}")))
    }
}

/// A JSON body decoded straight into `T`: malformed JSON is a 400, a body of the wrong
/// shape (missing or unknown field, wrong type) a 422 naming what is wrong.
pub struct Typed<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Typed<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = json_bytes(request, state).await?;
        serde_json::from_slice(&bytes)
            .map(Typed)
            .map_err(|e| match e.classify() {
                serde_json::error::Category::Data => invalid_body(e),
                _ => ApiError::new("bad_request", format!("the body is not valid JSON: {e}")),
            })
    }
}

fn invalid_body(error: serde_json::Error) -> ApiError {
    grantd_core::Invalid::field("body", error.to_string()).into()
}

/// Decodes a JSON value into `T`, naming what is wrong (a missing or unknown field, a
/// wrong type) as a validation failure.
pub fn decode<T: DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    serde_json::from_value(value).map_err(invalid_body)
}

/// Query parameters decoded into `T`; a bad one is a 400 naming it.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(q)| ApiQuery(q))
            .map_err(|e| ApiError::new("bad_request", e.body_text()))
    }
}

/// The route's path parameters by name, percent-decoded.
pub struct PathParams(pub HashMap<String, String>);

impl PathParams {
    pub fn get(&self, name: &str) -> &str {
        self.0.get(name).map(String::as_str).unwrap_or_default()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for PathParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map(|Path(p)| PathParams(p))
            .map_err(|e| ApiError::new("bad_request", e.body_text()))
    }
}
