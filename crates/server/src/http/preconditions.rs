//! ETags and the conditional headers: an object's ETag is its version, so `If-Match` turns
//! into a versioned write that the store checks in the same statement.

use axum::http::{HeaderMap, HeaderValue};
use grantd_store::Expect;

/// The strong ETag of a version: `"12"`.
pub fn etag(version: i64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\"")).unwrap_or(HeaderValue::from_static("\"0\""))
}

/// Parses an entity tag, weak or strong, into a version; `None` if it is not one of ours.
fn parse_etag(value: &str) -> Option<i64> {
    let value = value.trim();
    let value = value.strip_prefix("W/").unwrap_or(value);
    value.strip_prefix('"')?.strip_suffix('"')?.parse().ok()
}

/// What the request's `If-Match` / `If-None-Match` demand of a write. `default` applies
/// when neither is present. An `If-Match` naming no version of ours can never match.
pub fn expect(headers: &HeaderMap, default: Expect) -> Expect {
    if let Some(value) = headers.get("if-match").and_then(|v| v.to_str().ok()) {
        if value.trim() == "*" {
            return Expect::Present;
        }
        return Expect::Version(parse_etag(value.split(',').next().unwrap_or("")).unwrap_or(-1));
    }
    match headers.get("if-none-match").and_then(|v| v.to_str().ok()) {
        Some(value) if value.trim() == "*" => Expect::Absent,
        _ => default,
    }
}

/// Whether a GET's `If-None-Match` already names `version`, so 304 may be answered.
pub fn not_modified(headers: &HeaderMap, version: i64) -> bool {
    headers
        .get("if-none-match")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|tag| parse_etag(tag) == Some(version)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(name: &'static str, value: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_static(value));
        h
    }

    #[test]
    fn conditional_headers_become_expectations() {
        assert_eq!(expect(&HeaderMap::new(), Expect::Any), Expect::Any);
        assert_eq!(
            expect(&headers("if-match", "\"7\""), Expect::Any),
            Expect::Version(7)
        );
        assert_eq!(
            expect(&headers("if-match", "W/\"7\""), Expect::Any),
            Expect::Version(7)
        );
        assert_eq!(
            expect(&headers("if-match", "*"), Expect::Any),
            Expect::Present
        );
        assert_eq!(
            expect(&headers("if-match", "junk"), Expect::Any),
            Expect::Version(-1)
        );
        assert_eq!(
            expect(&headers("if-none-match", "*"), Expect::Any),
            Expect::Absent
        );
        assert!(not_modified(&headers("if-none-match", "\"3\", \"7\""), 7));
        assert!(!not_modified(&headers("if-none-match", "\"3\""), 7));
    }
}
