//! Extractors whose rejections speak the native envelope: JSON bodies, query strings and
//! path parameters. A client mistake here is always a 4xx naming what to fix.

use std::collections::HashMap;

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use serde::de::{Deserialize, DeserializeOwned};
use serde_json::Value;

use super::error::ApiError;
use crate::http::body::{self, BodyError};
use crate::state::AppState;

fn body_error(error: BodyError) -> ApiError {
    match error {
        BodyError::NotJson => ApiError::new(
            "unsupported_media_type",
            "send the body as JSON with `Content-Type: application/json`",
        ),
        BodyError::TooLarge => ApiError::new(
            "payload_too_large",
            "the request body is larger than the server accepts (see max_body_bytes)",
        ),
        BodyError::Unreadable(m) => ApiError::new("bad_request", m),
    }
}

/// The body's bytes, if it is JSON (`application/json` or any `+json` type) of at most
/// `limit` bytes (`max_body_bytes`).
pub async fn json_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, ApiError> {
    body::json_bytes(headers, body, limit, false)
        .await
        .map_err(body_error)
}

/// A request's JSON body, within the configured limit.
pub async fn request_json(request: Request, state: &AppState) -> Result<Bytes, ApiError> {
    let (parts, body) = request.into_parts();
    json_body(&parts.headers, body, state.config.max_body_bytes).await
}

/// Decodes a JSON body into `T`, whose strings may borrow from `bytes`: malformed JSON is
/// a 400, a body of the wrong shape (missing or unknown field, wrong type) a 422 naming
/// what is wrong.
pub fn decode_body<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => invalid_body(e),
        _ => ApiError::new("bad_request", format!("the body is not valid JSON: {e}")),
    })
}

/// A JSON body as a `Value`: syntactically valid JSON.
pub struct JsonBody(pub Value);

impl FromRequest<AppState> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let bytes = request_json(request, state).await?;
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|e| ApiError::new("bad_request", format!("the body is not valid JSON: {e}")))
    }
}

/// A JSON body decoded straight into `T`: malformed JSON is a 400, a body of the wrong
/// shape (missing or unknown field, wrong type) a 422 naming what is wrong.
pub struct Typed<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for Typed<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let bytes = request_json(request, state).await?;
        decode_body(&bytes).map(Typed)
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
