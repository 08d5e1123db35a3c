//! SlashID's wire forms: `{"result": ...}` answers, 204s with no body, JSON bodies, the
//! name rules of permissions, roles and groups, ETags over sets, and the consistency
//! headers every write takes.

use std::collections::HashMap;
use std::time::Duration;

use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::error::{SlashIdError, SlashIdResult};
use crate::http::body::{self, BodyError};
use crate::service::{Consistency, ServiceError, ServiceResult};
use crate::state::AppState;

pub const CONSISTENCY: &str = "slashid-required-consistency";
pub const CONSISTENCY_TIMEOUT: &str = "slashid-required-consistency-timeout";

/// A success with a body: `{"result": ...}`, optionally with an ETag.
pub struct Answer {
    status: StatusCode,
    body: Value,
    etag: Option<String>,
}

impl Answer {
    pub fn ok(result: impl Serialize) -> Self {
        Self::with(StatusCode::OK, result)
    }

    pub fn created(result: impl Serialize) -> Self {
        Self::with(StatusCode::CREATED, result)
    }

    fn with(status: StatusCode, result: impl Serialize) -> Self {
        Answer {
            status,
            body: json!({ "result": serde_json::to_value(result).unwrap_or(Value::Null) }),
            etag: None,
        }
    }

    /// The envelope alone, as SlashID answers some writes (`{}`).
    pub fn empty(status: StatusCode) -> Self {
        Answer {
            status,
            body: json!({}),
            etag: None,
        }
    }

    /// Adds `meta` (pagination) beside the result.
    pub fn meta(&mut self, meta: Value) {
        self.body["meta"] = meta;
    }

    pub fn etag(mut self, etag: String) -> Self {
        self.etag = Some(etag);
        self
    }
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body)).into_response();
        if let Some(etag) = self.etag.and_then(|e| HeaderValue::from_str(&e).ok()) {
            response.headers_mut().insert(header::ETAG, etag);
        }
        response
    }
}

/// 204 with no body.
pub fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// A strong ETag over a set of names, whatever their order.
pub fn set_etag<S: AsRef<str>>(names: &[S]) -> String {
    let mut sorted: Vec<&str> = names.iter().map(AsRef::as_ref).collect();
    sorted.sort_unstable();
    sorted.dedup();
    let mut hash = Sha256::new();
    for name in sorted {
        hash.update(name.as_bytes());
        hash.update([0]);
    }
    format!("\"{}\"", &hex::encode(hash.finalize())[..32])
}

/// A write's check of the ETag of a set it replaces (a person's roles or permissions),
/// run by the service inside the write's transaction.
pub fn set_precondition(
    headers: &HeaderMap,
) -> impl Fn(&[String]) -> ServiceResult<()> + Sync + '_ {
    move |now: &[String]| {
        if_match(headers, &set_etag(now)).map_err(|e| ServiceError::PreconditionFailed(e.message))
    }
}

/// A write that names what does not exist, refused with where to create it.
pub fn missing_with_hint(hint: &'static str) -> impl Fn(ServiceError) -> SlashIdError {
    move |e| match e {
        ServiceError::Invalid(invalid) => {
            let first = invalid.0.first().map(|f| f.message.as_str());
            SlashIdError::bad_request(format!("{} ({hint})", first.unwrap_or("it does not exist")))
        }
        other => other.into(),
    }
}

/// 412 unless `If-Match` is absent, `*`, or `current` (quoted or not).
pub fn if_match(headers: &HeaderMap, current: &str) -> SlashIdResult<()> {
    let Some(given) = headers.get(header::IF_MATCH) else {
        return Ok(());
    };
    let given = given.to_str().unwrap_or("").trim();
    let bare = |s: &str| s.trim_start_matches("W/").trim_matches('"').to_string();
    if given == "*" || given.split(',').any(|g| bare(g.trim()) == bare(current)) {
        Ok(())
    } else {
        Err(SlashIdError::new(
            StatusCode::PRECONDITION_FAILED,
            format!(
                "If-Match {given} does not match the current ETag {current}; nothing was written"
            ),
        ))
    }
}

/// A JSON body (`application/json`, or no Content-Type); 400 otherwise.
pub struct Body(pub Value);

impl FromRequest<AppState> for Body {
    type Rejection = SlashIdError;

    async fn from_request(request: Request, state: &AppState) -> SlashIdResult<Self> {
        let (parts, body) = request.into_parts();
        let bytes = body::json_bytes(&parts.headers, body, state.config.max_body_bytes, true)
            .await
            .map_err(|e| match e {
                BodyError::NotJson => SlashIdError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "send the body as application/json",
                ),
                BodyError::TooLarge => SlashIdError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "the request body is larger than the server accepts",
                ),
                BodyError::Unreadable(m) => SlashIdError::bad_request(m),
            })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(SlashIdError::bad_request("a JSON body is required"));
        }
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(v @ Value::Object(_)) => Ok(Body(v)),
            Ok(_) => Err(SlashIdError::bad_request("the body must be a JSON object")),
            Err(e) => Err(SlashIdError::bad_request(format!(
                "the body is not valid JSON: {e}"
            ))),
        }
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
    type Rejection = SlashIdError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> SlashIdResult<Self> {
        Path::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map(|Path(p)| PathParams(p))
            .map_err(|e| SlashIdError::bad_request(e.body_text()))
    }
}

fn edge(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

/// `^[A-Za-z0-9][<inner>]*[A-Za-z0-9]$` with ASCII `\w`, at most `max` characters.
fn name_rule(value: &str, max: usize, extra: &[u8], what: &str) -> Result<(), String> {
    let bytes = value.as_bytes();
    let ok = bytes.len() >= 2
        && value.chars().count() <= max
        && edge(bytes[0])
        && edge(bytes[bytes.len() - 1])
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'_' || extra.contains(b));
    let allowed: String = extra.iter().map(|b| format!(" {}", *b as char)).collect();
    ok.then_some(()).ok_or_else(|| {
        format!("{what} {value:?} must be 2 to {max} characters: letters, digits and _{allowed}, starting and ending with a letter or digit")
    })
}

/// A permission name: `^[A-Za-z0-9]{1}[\w./\\\-:]*[A-Za-z0-9]$`, at most 1,024 characters.
pub fn permission_name(value: &str) -> Result<(), String> {
    name_rule(value, 1024, b"./\\-:", "permission name")
}

/// A role name: `^[A-Za-z0-9]{1}[\w.\-:]*[A-Za-z0-9]$`, at most 100 characters.
pub fn role_name(value: &str) -> Result<(), String> {
    name_rule(value, 100, b".-:", "role name")
}

/// A group name: `^[A-Za-z0-9]{1}[\w\.\-]*[A-Za-z0-9]$`, at most 100 characters.
pub fn group_name(value: &str) -> Result<(), String> {
    name_rule(value, 100, b".-", "group name")
}

/// A list of names from `body[key]`, each checked by `rule`, duplicates dropped (in order).
pub fn names(
    body: &Value,
    key: &str,
    required: bool,
    rule: fn(&str) -> Result<(), String>,
) -> SlashIdResult<Option<Vec<String>>> {
    let value = match body.get(key) {
        None | Some(Value::Null) if required => {
            return Err(SlashIdError::bad_request(format!("`{key}` is required")))
        }
        None | Some(Value::Null) => return Ok(None),
        Some(v) => v,
    };
    let items = value
        .as_array()
        .ok_or_else(|| SlashIdError::bad_request(format!("`{key}` must be an array of strings")))?;
    let mut out: Vec<String> = Vec::new();
    for item in items {
        let name = item.as_str().ok_or_else(|| {
            SlashIdError::bad_request(format!("`{key}` must be an array of strings"))
        })?;
        rule(name).map_err(SlashIdError::bad_request)?;
        if !out.iter().any(|n| n == name) {
            out.push(name.to_string());
        }
    }
    Ok(Some(out))
}

/// An optional string field.
pub fn text(body: &Value, key: &str) -> SlashIdResult<Option<String>> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(SlashIdError::bad_request(format!(
            "`{key}` must be a string"
        ))),
    }
}

/// What a write asks to wait for before answering: `local_region` (this node's index has
/// applied the write) or `all_regions` (every live node's has; with one node, the same),
/// for at most the timeout (1 to 120 s, default 30).
#[derive(Debug, Clone, Copy)]
pub struct Wait {
    pub all_regions: bool,
    pub timeout: Duration,
}

impl Wait {
    pub fn of(headers: &HeaderMap) -> SlashIdResult<Wait> {
        let level = headers
            .get(CONSISTENCY)
            .map(|v| v.to_str().unwrap_or("").trim().to_string());
        let all_regions = match level.as_deref() {
            None | Some("local_region") => false,
            Some("all_regions") => true,
            Some(other) => {
                return Err(SlashIdError::bad_request(format!(
                "SlashID-Required-Consistency must be local_region or all_regions, not {other:?}"
            )))
            }
        };
        let timeout = match headers.get(CONSISTENCY_TIMEOUT) {
            None => 30,
            Some(v) => v
                .to_str()
                .ok()
                .and_then(|s| s.trim().parse::<u64>().ok())
                .filter(|s| (1..=120).contains(s))
                .ok_or_else(|| {
                    SlashIdError::bad_request(
                        "SlashID-Required-Consistency-Timeout must be an integer from 1 to 120",
                    )
                })?,
        };
        Ok(Wait {
            all_regions,
            timeout: Duration::from_secs(timeout),
        })
    }

    /// Answers 204 once the write at `revision` is applied as asked.
    pub async fn done(
        &self,
        state: &AppState,
        tenant: &str,
        revision: i64,
    ) -> SlashIdResult<Response> {
        self.until_applied(state, tenant, revision).await?;
        Ok(no_content())
    }

    /// Waits until the write at `revision` is applied as asked (by this node's index, and
    /// for `all_regions` by every live node's); 408 past the timeout, the write kept.
    pub async fn until_applied(
        &self,
        state: &AppState,
        tenant: &str,
        revision: i64,
    ) -> SlashIdResult<()> {
        let started = std::time::Instant::now();
        let local = state
            .service
            .snapshot_within(tenant, Consistency::AtLeastAsFresh(revision), self.timeout)
            .await
            .map(|_| ());
        let applied = match local {
            Ok(()) if self.all_regions => {
                let left = self.timeout.saturating_sub(started.elapsed());
                state.cluster.all_applied(tenant, revision, left).await
            }
            other => other,
        };
        applied.map_err(|e| match SlashIdError::from(e) {
                timeout if timeout.status == StatusCode::REQUEST_TIMEOUT => SlashIdError::new(
                    StatusCode::REQUEST_TIMEOUT,
                    format!(
                        "the write is committed (revision {revision}) but was not applied in {} within {} s; it will be",
                        if self.all_regions { "all regions" } else { "the local region" },
                        self.timeout.as_secs()
                    ),
                ),
                other => other,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_slashids_patterns() {
        for ok in ["ab", "billing.invoices.list", "a/b\\c-d:e_f", "A1"] {
            assert!(permission_name(ok).is_ok(), "{ok}");
        }
        for bad in ["a", "-ab", "ab-", "a b", "ä1", "ab/"] {
            assert!(permission_name(bad).is_err(), "{bad}");
        }
        assert!(permission_name(&"a".repeat(1024)).is_ok());
        assert!(permission_name(&"a".repeat(1025)).is_err());
        assert!(role_name("admin:read").is_ok());
        assert!(role_name("a/b").is_err());
        assert!(group_name("g.1-x").is_ok());
        assert!(group_name("g:1").is_err());
        assert!(role_name(&"r".repeat(101)).is_err());
    }

    #[test]
    fn etags_ignore_order_and_if_match_compares_them() {
        assert_eq!(set_etag(&["b", "a"]), set_etag(&["a", "b", "a"]));
        assert_ne!(set_etag(&["a"]), set_etag(&["a", "b"]));
        let current = set_etag(&["a"]);
        let mut headers = HeaderMap::new();
        assert!(if_match(&headers, &current).is_ok());
        headers.insert(
            header::IF_MATCH,
            HeaderValue::from_str(&current).expect("ascii"),
        );
        assert!(if_match(&headers, &current).is_ok());
        headers.insert(header::IF_MATCH, HeaderValue::from_static("\"stale\""));
        assert_eq!(
            if_match(&headers, &current).map_err(|e| e.status),
            Err(StatusCode::PRECONDITION_FAILED)
        );
    }

    #[test]
    fn consistency_headers_are_validated() {
        let mut headers = HeaderMap::new();
        let wait = Wait::of(&headers).expect("defaults");
        assert_eq!((wait.all_regions, wait.timeout.as_secs()), (false, 30));
        headers.insert(CONSISTENCY, HeaderValue::from_static("all_regions"));
        headers.insert(CONSISTENCY_TIMEOUT, HeaderValue::from_static("120"));
        assert!(Wait::of(&headers).expect("valid").all_regions);
        for bad in ["0", "121", "x", "1.5"] {
            headers.insert(CONSISTENCY_TIMEOUT, HeaderValue::from_static(bad));
            assert!(Wait::of(&headers).is_err(), "{bad}");
        }
        headers.insert(CONSISTENCY_TIMEOUT, HeaderValue::from_static("5"));
        headers.insert(CONSISTENCY, HeaderValue::from_static("everywhere"));
        assert!(Wait::of(&headers).is_err());
    }
}
