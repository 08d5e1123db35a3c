//! Segment's wire forms: JSON bodies in any of its media types, field-by-field validation
//! naming each failure as `permissions.0.roleId`, query strings with pagination in dot,
//! bracket or body form and arrays in every form clients send, offset cursors such as
//! `MA==`, and the `{"data": ...}` envelope.

use std::collections::HashMap;

use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::Serialize;
use serde_json::{json, Value};

use super::error::{SegmentError, SegmentResult};
use crate::http::body::{self, BodyError};
use crate::state::AppState;

/// Longest id Segment takes in a path or body.
pub const MAX_ID: usize = 255;

/// Most items one page may hold (the SDK documents 1 to 1,000).
pub const MAX_PAGE: usize = 1000;

/// A success: `{"data": ...}` with status 200 (or 201).
pub struct Data {
    status: StatusCode,
    data: Value,
}

impl Data {
    pub fn ok(data: impl Serialize) -> Self {
        Self::with(StatusCode::OK, data)
    }

    pub fn created(data: impl Serialize) -> Self {
        Self::with(StatusCode::CREATED, data)
    }

    fn with(status: StatusCode, data: impl Serialize) -> Self {
        Data {
            status,
            data: serde_json::to_value(data).unwrap_or(Value::Null),
        }
    }

    pub fn success() -> Self {
        Self::ok(json!({"status": "SUCCESS"}))
    }
}

impl IntoResponse for Data {
    fn into_response(self) -> Response {
        (self.status, Json(json!({ "data": self.data }))).into_response()
    }
}

/// A JSON body in any media type Segment takes (or none given); an empty body is `null`.
pub struct Body(pub Value);

impl FromRequest<AppState> for Body {
    type Rejection = SegmentError;

    async fn from_request(request: Request, state: &AppState) -> SegmentResult<Self> {
        let (parts, body) = request.into_parts();
        let bytes = body::json_bytes(&parts.headers, body, state.config.max_body_bytes, true)
            .await
            .map_err(|e| match e {
                BodyError::NotJson => SegmentError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "UnsupportedMediaType",
                    "send the body as application/json or application/vnd.segment.v1+json",
                ),
                BodyError::TooLarge => SegmentError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "PayloadTooLarge",
                    "the request body is larger than the server accepts",
                ),
                BodyError::Unreadable(m) => SegmentError::bad_request(m),
            })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Body(Value::Null));
        }
        serde_json::from_slice(&bytes)
            .map(Body)
            .map_err(|e| SegmentError::bad_request(format!("the body is not valid JSON: {e}")))
    }
}

/// The route's path parameters, percent-decoded.
pub struct PathIds(HashMap<String, String>);

impl PathIds {
    /// The parameter `name`: an id of 1 to 255 characters, as Segment's paths take.
    pub fn id(&self, name: &str) -> SegmentResult<String> {
        let value = self.0.get(name).cloned().unwrap_or_default();
        if value.is_empty() || value.chars().count() > MAX_ID {
            return Err(SegmentError::field(
                name,
                format!("must be 1 to {MAX_ID} characters"),
            ));
        }
        Ok(value)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for PathIds {
    type Rejection = SegmentError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> SegmentResult<Self> {
        Path::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map(|Path(p)| PathIds(p))
            .map_err(|e| SegmentError::bad_request(e.body_text()))
    }
}

/// A query string's pairs, in order, percent-decoded.
pub struct Query(Vec<(String, String)>);

impl Query {
    pub fn parse(raw: Option<&str>) -> Query {
        Query(
            form_urlencoded::parse(raw.unwrap_or("").as_bytes())
                .into_owned()
                .collect(),
        )
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// An object parameter's field: `name[field]` (deepObject, as the SDK sends) or
    /// `name.field` (as Segment's docs show).
    pub fn member(&self, name: &str, field: &str) -> Option<&str> {
        self.get(&format!("{name}[{field}]"))
            .or_else(|| self.get(&format!("{name}.{field}")))
    }

    /// An array parameter in any form: `name[0]=a&name[1]=b` (the SDK), `name[]=a`,
    /// `name.0=a`, or `name=a&name=b`; indexed items in index order.
    pub fn array(&self, name: &str) -> Vec<String> {
        let mut indexed: Vec<(usize, usize, String)> = Vec::new();
        for (position, (key, value)) in self.0.iter().enumerate() {
            let Some(rest) = key.strip_prefix(name) else {
                continue;
            };
            let index = if rest.is_empty() || rest == "[]" {
                Some(usize::MAX)
            } else if let Some(i) = rest.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
                i.parse().ok()
            } else if let Some(i) = rest.strip_prefix('.') {
                i.parse().ok()
            } else {
                None
            };
            if let Some(index) = index {
                indexed.push((index, position, value.clone()));
            }
        }
        indexed.sort_by_key(|(index, position, _)| (*index, *position));
        indexed.into_iter().map(|(_, _, v)| v).collect()
    }
}

/// One page requested: skip `offset` items, return up to `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub offset: usize,
    pub count: usize,
}

/// The page size a list operation asks for: `pagination.count` is required, in the query
/// (bracket or dot form) or in a JSON body.
pub fn page_count(query: &Query, body: &Value) -> SegmentResult<usize> {
    let count = query
        .member("pagination", "count")
        .map(|c| Value::String(c.to_string()))
        .or_else(|| body.get("pagination").and_then(|p| p.get("count")).cloned())
        .ok_or_else(|| {
            SegmentError::field("pagination.count", "\"pagination.count\" is required")
        })?;
    match &count {
        Value::String(s) => s.trim().parse::<usize>().ok(),
        Value::Number(n) => n.as_u64().map(|n| n as usize),
        _ => None,
    }
    .filter(|c| (1..=MAX_PAGE).contains(c))
    .ok_or_else(|| {
        SegmentError::field(
            "pagination.count",
            format!("must be a number between 1 and {MAX_PAGE}"),
        )
    })
}

/// The cursor a list operation passes, if any, from the query or a JSON body.
pub fn page_cursor(query: &Query, body: &Value) -> Option<String> {
    query
        .member("pagination", "cursor")
        .map(str::to_string)
        .or_else(|| {
            body.get("pagination")
                .and_then(|p| p.get("cursor"))
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .filter(|c| !c.is_empty())
}

impl PageRequest {
    /// The page a list operation asks for, with an offset cursor.
    pub fn of(query: &Query, body: &Value) -> SegmentResult<PageRequest> {
        let count = page_count(query, body)?;
        let offset = match page_cursor(query, body) {
            None => 0,
            Some(c) => decode_cursor(&c).ok_or_else(|| {
                SegmentError::field("pagination.cursor", "is not a cursor this API returned")
            })?,
        };
        Ok(PageRequest { offset, count })
    }

    /// This page of `items`, and the pagination object describing it.
    pub fn slice<T: Clone>(&self, items: &[T]) -> (Vec<T>, Value) {
        let total = items.len();
        let start = self.offset.min(total);
        let end = (start + self.count).min(total);
        let mut pagination = json!({
            "current": encode_cursor(self.offset),
            "totalEntries": total,
        });
        if end < total {
            pagination["next"] = json!(encode_cursor(end));
        }
        if self.offset > 0 {
            pagination["previous"] = json!(encode_cursor(self.offset.saturating_sub(self.count)));
        }
        (items[start..end].to_vec(), pagination)
    }
}

/// Segment's cursors are base64 offsets: `MA==` is the first item.
pub fn encode_cursor(offset: usize) -> String {
    STANDARD.encode(offset.to_string())
}

pub fn decode_cursor(cursor: &str) -> Option<usize> {
    let bytes = STANDARD.decode(cursor.trim()).ok()?;
    std::str::from_utf8(&bytes).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrays_in_every_form() {
        let q = Query::parse(Some("userIds%5B1%5D=b&userIds%5B0%5D=a&x=1"));
        assert_eq!(q.array("userIds"), ["a", "b"]);
        let q = Query::parse(Some("emails=a&emails=b&emails[]=c&emails.3=d"));
        assert_eq!(q.array("emails"), ["d", "a", "b", "c"]);
        assert!(Query::parse(Some("userIdsX=1")).array("userIds").is_empty());
    }

    #[test]
    fn pagination_in_bracket_dot_and_body_forms() {
        let bracket = Query::parse(Some(
            "pagination%5Bcursor%5D=Mw%3D%3D&pagination%5Bcount%5D=2",
        ));
        assert_eq!(
            PageRequest::of(&bracket, &Value::Null).ok(),
            Some(PageRequest {
                offset: 3,
                count: 2
            })
        );
        let dot = Query::parse(Some("pagination.count=3&pagination.cursor=MA%3D%3D"));
        assert_eq!(
            PageRequest::of(&dot, &Value::Null).ok(),
            Some(PageRequest {
                offset: 0,
                count: 3
            })
        );
        let body = json!({"pagination": {"count": 5, "cursor": "Mg=="}});
        assert_eq!(
            PageRequest::of(&Query::parse(None), &body).ok(),
            Some(PageRequest {
                offset: 2,
                count: 5
            })
        );
        assert!(PageRequest::of(&Query::parse(None), &Value::Null).is_err());
        assert!(PageRequest::of(&Query::parse(Some("pagination[count]=0")), &Value::Null).is_err());
        assert!(
            PageRequest::of(&Query::parse(Some("pagination[count]=1001")), &Value::Null).is_err()
        );
        assert!(PageRequest::of(
            &Query::parse(Some("pagination[count]=1&pagination[cursor]=%%%")),
            &Value::Null
        )
        .is_err());
    }

    #[test]
    fn pages_say_where_the_others_are() {
        let items: Vec<u32> = (0..5).collect();
        let (page, p) = PageRequest {
            offset: 2,
            count: 2,
        }
        .slice(&items);
        assert_eq!(page, [2, 3]);
        assert_eq!(p["current"], "Mg==");
        assert_eq!(p["next"], "NA==");
        assert_eq!(p["previous"], "MA==");
        assert_eq!(p["totalEntries"], 5);
        let (last, p) = PageRequest {
            offset: 4,
            count: 2,
        }
        .slice(&items);
        assert_eq!(last, [4]);
        assert!(p.get("next").is_none());
    }
}
