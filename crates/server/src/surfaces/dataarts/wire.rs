//! DataArts' wire forms: flat JSON objects, list envelopes `{total, ...}`, integers as JSON
//! numbers, query strings, the fields of its DTOs (every one optional, each checked), and
//! the `permission_action_code` bitmap.

use std::collections::HashMap;

use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::Value;

use super::error::{DataArtsError, DataArtsResult};

/// Longest string field DataArts takes.
pub const MAX_STR: usize = 128;

/// The bits of `permission_action_code`: `SELECT` is 2, as DataArts documents; the others
/// follow DataArts' order of actions, one bit each.
pub const ACTION_BITS: [(&str, i64); 14] = [
    ("ALL", 1),
    ("SELECT", 2),
    ("UPDATE", 4),
    ("CREATE", 8),
    ("DROP", 16),
    ("ALTER", 32),
    ("INDEX", 64),
    ("LOCK", 128),
    ("READ", 256),
    ("WRITE", 512),
    ("INSERT", 1024),
    ("CREATE_TABLE", 2048),
    ("DELETE", 4096),
    ("CREATE_SCHEMA", 8192),
];

pub fn action_code(actions: &[String]) -> i64 {
    actions
        .iter()
        .filter_map(|a| ACTION_BITS.iter().find(|(name, _)| name == a))
        .fold(0, |code, (_, bit)| code | bit)
}

/// 200 with a JSON body.
pub fn ok(value: Value) -> Response {
    (StatusCode::OK, Json(value)).into_response()
}

/// 204 with no body.
pub fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// A JSON body (any or no Content-Type, as the SDK's servers accept); empty is `null`.
pub struct Body(pub Value);

impl<S: Send + Sync> FromRequest<S> for Body {
    type Rejection = DataArtsError;

    async fn from_request(request: Request, state: &S) -> DataArtsResult<Self> {
        let bytes = axum::body::Bytes::from_request(request, state)
            .await
            .map_err(|e| DataArtsError::invalid("body", e.body_text()))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Body(Value::Null));
        }
        serde_json::from_slice(&bytes)
            .map(Body)
            .map_err(|e| DataArtsError::invalid("body", format!("not valid JSON: {e}")))
    }
}

/// The route's path parameters, percent-decoded.
pub struct PathParams(HashMap<String, String>);

impl PathParams {
    pub fn get(&self, name: &str) -> String {
        self.0.get(name).cloned().unwrap_or_default()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for PathParams {
    type Rejection = DataArtsError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> DataArtsResult<Self> {
        Path::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map(|Path(p)| PathParams(p))
            .map_err(|e| DataArtsError::invalid("path", e.body_text()))
    }
}

/// A body's fields, read one at a time, each checked.
pub struct Dto<'a>(&'a Value);

impl<'a> Dto<'a> {
    pub fn of(body: &'a Value) -> DataArtsResult<Dto<'a>> {
        match body {
            Value::Object(_) => Ok(Dto(body)),
            _ => Err(DataArtsError::invalid("body", "a JSON object is required")),
        }
    }

    pub fn has(&self, key: &str) -> bool {
        !matches!(self.0.get(key), None | Some(Value::Null))
    }

    /// An optional string of 1 to `MAX_STR` characters.
    pub fn text(&self, key: &str) -> DataArtsResult<Option<String>> {
        self.text_up_to(key, MAX_STR)
    }

    pub fn text_up_to(&self, key: &str, max: usize) -> DataArtsResult<Option<String>> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if !s.is_empty() && s.chars().count() <= max => {
                Ok(Some(s.clone()))
            }
            Some(Value::String(_)) => Err(DataArtsError::invalid(
                key,
                format!("must be 1 to {max} characters"),
            )),
            Some(_) => Err(DataArtsError::invalid(key, "must be a string")),
        }
    }

    pub fn required(&self, key: &str) -> DataArtsResult<String> {
        self.text(key)?
            .ok_or_else(|| DataArtsError::invalid(key, "is required"))
    }

    /// One of `allowed`, if given.
    pub fn choice(&self, key: &str, allowed: &[&str]) -> DataArtsResult<Option<String>> {
        match self.text(key)? {
            Some(v) if !allowed.contains(&v.as_str()) => Err(DataArtsError::invalid(
                key,
                format!("must be one of {}", allowed.join(", ")),
            )),
            other => Ok(other),
        }
    }

    pub fn flag(&self, key: &str) -> DataArtsResult<bool> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(DataArtsError::invalid(key, "must be true or false")),
        }
    }

    /// A list of strings (a lone string counts as a list of one).
    pub fn list(&self, key: &str) -> DataArtsResult<Option<Vec<String>>> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(vec![s.clone()])),
            Some(Value::Array(items)) => items
                .iter()
                .map(|i| {
                    i.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| DataArtsError::invalid(key, "must be a list of strings"))
                })
                .collect::<DataArtsResult<Vec<_>>>()
                .map(Some),
            Some(_) => Err(DataArtsError::invalid(key, "must be a list of strings")),
        }
    }

    pub fn value(&self, key: &str) -> Option<&'a Value> {
        self.0.get(key).filter(|v| !v.is_null())
    }
}

/// A query string's parameters, decoded as the signature's canonical query decodes them.
pub struct Query(Vec<(String, String)>);

impl Query {
    pub fn parse(raw: Option<&str>) -> Query {
        Query(super::signature::query_pairs(raw))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    /// An integer in `min..=max`, `default` when absent.
    pub fn int(&self, name: &str, min: i64, max: i64, default: i64) -> DataArtsResult<i64> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => v
                .parse::<i64>()
                .ok()
                .filter(|n| (min..=max).contains(n))
                .ok_or_else(|| {
                    DataArtsError::invalid(name, format!("must be an integer from {min} to {max}"))
                }),
        }
    }

    pub fn flag(&self, name: &str) -> DataArtsResult<bool> {
        match self.get(name) {
            None | Some("false") => Ok(false),
            Some("true") => Ok(true),
            Some(_) => Err(DataArtsError::invalid(name, "must be true or false")),
        }
    }

    pub fn choice(&self, name: &str, allowed: &[&str]) -> DataArtsResult<Option<String>> {
        match self.get(name) {
            None => Ok(None),
            Some(v) if allowed.contains(&v) => Ok(Some(v.to_string())),
            Some(_) => Err(DataArtsError::invalid(
                name,
                format!("must be one of {}", allowed.join(", ")),
            )),
        }
    }

    /// `limit` (0 to 100, default 10; 0 is the default) and `offset` (0 to 99,999).
    pub fn page(&self) -> DataArtsResult<(usize, usize)> {
        let limit = self.int("limit", 0, 100, 10)?;
        let offset = self.int("offset", 0, 99_999, 0)?;
        Ok((
            if limit == 0 { 10 } else { limit as usize },
            offset as usize,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn select_is_two_and_bits_are_distinct() {
        assert_eq!(action_code(&["SELECT".into()]), 2);
        assert_eq!(action_code(&["SELECT".into(), "DROP".into()]), 18);
        let mut bits: Vec<i64> = ACTION_BITS.iter().map(|(_, b)| *b).collect();
        bits.dedup();
        assert_eq!(bits.len(), ACTION_BITS.len());
        assert!(bits.iter().all(|b| b.count_ones() == 1));
    }
}
