//! Huawei Cloud's `SDK-HMAC-SHA256` request signatures, verified exactly as the official
//! SDKs compute them: the canonical request (method, path with a trailing `/`, sorted
//! query, the signed headers, the SHA-256 of the raw body), hashed into the string to sign
//! with `X-Sdk-Date`, and an HMAC-SHA256 keyed by the secret key, compared in constant time.

use axum::http::{HeaderMap, Method};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::auth::secret::same_bytes;

pub const ALGORITHM: &str = "SDK-HMAC-SHA256";
pub const DATE: &str = "x-sdk-date";
const CONTENT_SHA256: &str = "x-sdk-content-sha256";
/// The gateway refuses dates further than this from its clock.
pub const MAX_SKEW_SECS: i64 = 15 * 60;

/// The parts of `Authorization: SDK-HMAC-SHA256 Access=AK, SignedHeaders=a;b, Signature=hex`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub access: String,
    pub signed_headers: Vec<String>,
    pub signature: String,
}

impl Authorization {
    pub fn parse(value: &str) -> Option<Authorization> {
        let rest = value.strip_prefix(ALGORITHM)?.trim_start();
        let (mut access, mut signed, mut signature) = (None, None, None);
        for part in rest.split(',') {
            let (key, val) = part.trim().split_once('=')?;
            match key {
                "Access" => access = Some(val.to_string()),
                "SignedHeaders" => signed = Some(val.to_string()),
                "Signature" => signature = Some(val.to_string()),
                _ => return None,
            }
        }
        let signed_headers: Vec<String> = signed?
            .split(';')
            .map(|h| h.trim().to_ascii_lowercase())
            .filter(|h| !h.is_empty())
            .collect();
        Some(Authorization {
            access: access.filter(|a| !a.is_empty())?,
            signed_headers,
            signature: signature?.to_ascii_lowercase(),
        })
    }
}

/// Percent-decodes to bytes (`+` stays `+`, as Python's `unquote`).
fn decode(value: &str) -> Vec<u8> {
    let bytes = value.as_bytes();
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push(hi << 4 | lo);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

/// Python's `quote(s, safe='~')`: `A-Z a-z 0-9 _ . - ~` kept, the rest `%XX` in upper case.
fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The canonical URI: each path segment decoded and re-encoded, with a trailing `/`.
pub fn canonical_uri(path: &str) -> String {
    let mut uri: String = path
        .split('/')
        .map(|segment| encode(&decode(segment)))
        .collect::<Vec<_>>()
        .join("/");
    if !uri.ends_with('/') {
        uri.push('/');
    }
    uri
}

/// The canonical query: pairs decoded, sorted by key then value, re-encoded.
pub fn canonical_query(query: Option<&str>) -> String {
    let mut pairs: Vec<(Vec<u8>, Vec<u8>)> = query
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The string to sign for a request, from what was received.
pub fn string_to_sign(
    method: &Method,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    signed_headers: &[String],
    body: &[u8],
) -> String {
    let mut canonical_headers = String::new();
    for name in signed_headers {
        let value = headers
            .get(name.as_str())
            .map(|v| String::from_utf8_lossy(v.as_bytes()).trim().to_string())
            .unwrap_or_default();
        canonical_headers.push_str(name);
        canonical_headers.push(':');
        canonical_headers.push_str(&value);
        canonical_headers.push('\n');
    }
    let payload = match headers.get(CONTENT_SHA256).and_then(|v| v.to_str().ok()) {
        Some(given) => given.to_string(),
        None => hex::encode(Sha256::digest(body)),
    };
    let canonical = format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        method.as_str(),
        canonical_uri(path),
        canonical_query(query),
        canonical_headers,
        signed_headers.join(";"),
        payload
    );
    let date = headers
        .get(DATE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    format!(
        "{ALGORITHM}\n{date}\n{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    )
}

/// The hex HMAC-SHA256 of `string_to_sign` under `secret_key`.
pub fn sign(secret_key: &str, string_to_sign: &str) -> String {
    // HMAC takes keys of any length.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret_key.as_bytes()) else {
        return String::new();
    };
    mac.update(string_to_sign.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The `Authorization` value a client sends for a request, signing every header in
/// `headers` (sorted by name, as the SDKs list them): for tools and tests that act as
/// clients. `headers` must hold `host` and `x-sdk-date` for grantd to accept it.
pub fn authorization(
    access_key: &str,
    secret_key: &str,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> String {
    let mut names: Vec<String> = headers.keys().map(|k| k.as_str().to_string()).collect();
    names.sort();
    let to_sign = string_to_sign(method, path, None, headers, &names, body);
    format!(
        "{ALGORITHM} Access={access_key}, SignedHeaders={}, Signature={}",
        names.join(";"),
        sign(secret_key, &to_sign)
    )
}

/// Why a signature was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No `X-Sdk-Date`, or one that does not parse.
    NoDate,
    /// `X-Sdk-Date` further than 15 minutes from now.
    Expired,
    /// The signature does not match, or a required header is not signed.
    Mismatch,
}

/// Verifies a parsed `Authorization` against the request, at `now` (seconds since the
/// epoch). `host` must be among the signed headers, as the SDKs always sign it.
#[allow(clippy::too_many_arguments)]
pub fn verify(
    auth: &Authorization,
    secret_key: &str,
    method: &Method,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
    now: i64,
) -> Result<(), Refusal> {
    let date = headers
        .get(DATE)
        .and_then(|v| v.to_str().ok())
        .and_then(|d| chrono::NaiveDateTime::parse_from_str(d, "%Y%m%dT%H%M%SZ").ok())
        .ok_or(Refusal::NoDate)?;
    if (now - date.and_utc().timestamp()).abs() > MAX_SKEW_SECS {
        return Err(Refusal::Expired);
    }
    let signs_what_it_must = [DATE, "host"]
        .iter()
        .all(|h| auth.signed_headers.iter().any(|s| s == h));
    if !signs_what_it_must {
        return Err(Refusal::Mismatch);
    }
    let expected = sign(
        secret_key,
        &string_to_sign(method, path, query, headers, &auth.signed_headers, body),
    );
    if same_bytes(expected.as_bytes(), auth.signature.as_bytes()) {
        Ok(())
    } else {
        Err(Refusal::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    const SK: &str = "TESTSECRETKEY0123456789";
    const PROJECT: &str = "0123456789abcdef0123456789abcdef";

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(
                axum::http::HeaderName::from_bytes(k.as_bytes()).expect("name"),
                HeaderValue::from_str(v).expect("value"),
            );
        }
        map
    }

    fn signed(list: &str) -> Vec<String> {
        list.split(';').map(String::from).collect()
    }

    #[test]
    fn a_client_authorization_verifies_and_a_changed_body_does_not() {
        let h = headers(&[
            ("host", "127.0.0.1:8080"),
            ("x-sdk-date", "20240101T000000Z"),
            ("workspace", "ws-1"),
        ]);
        let path = "/v1/p1/security/permission-sets";
        let value = authorization("AK1", SK, &Method::POST, path, &h, b"{}");
        let auth = Authorization::parse(&value).expect("parses");
        assert_eq!(auth.access, "AK1");
        assert_eq!(auth.signed_headers, signed("host;workspace;x-sdk-date"));
        let now = 1_704_067_200;
        assert_eq!(
            verify(&auth, SK, &Method::POST, path, None, &h, b"{}", now),
            Ok(())
        );
        assert_eq!(
            verify(&auth, SK, &Method::POST, path, None, &h, b"{ }", now),
            Err(Refusal::Mismatch)
        );
    }

    #[test]
    fn vector_1_add_permission() {
        let h = headers(&[
            ("workspace", "ws-0001"),
            ("content-type", "application/json;charset=utf-8"),
            ("x-project-id", PROJECT),
            ("user-agent", "huaweicloud-usdk-python/3.0"),
            ("x-sdk-date", "20240101T000000Z"),
            ("host", "127.0.0.1:18080"),
        ]);
        let body = br#"{"permission_type": "ALLOW", "permission_actions": ["SELECT"], "datasource_type": "HIVE", "database_name": "db1", "table_name": "t1"}"#;
        let path = format!("/v1/{PROJECT}/security/permission-sets/ps-0001/permissions");
        let sts = string_to_sign(
            &Method::POST,
            &path,
            None,
            &h,
            &signed("content-type;host;user-agent;workspace;x-project-id;x-sdk-date"),
            body,
        );
        assert_eq!(
            sign(SK, &sts),
            "dfd2f3603a0973cdab7774a5220d42e8c76572e7a69d6f5ec79047d16e87a578"
        );
    }

    #[test]
    fn vector_2_batch_create_members() {
        let h = headers(&[
            ("workspace", "ws-0001"),
            ("content-type", "application/json;charset=utf-8"),
            ("x-sdk-date", "20240101T000000Z"),
            ("host", "127.0.0.1:18080"),
        ]);
        let body = br#"{"members": [{"member_type": "USER", "member_id": "u-1", "member_name": "alice"}], "auto_sync": false}"#;
        let path = format!("/v1/{PROJECT}/security/permission-sets/ps-0001/members/batch-create");
        let sts = string_to_sign(
            &Method::POST,
            &path,
            None,
            &h,
            &signed("content-type;host;workspace;x-sdk-date"),
            body,
        );
        assert_eq!(
            sign(SK, &sts),
            "b8b6f2e464ce24e04197e98b246520fcad56a062937ee338b0facd4896093f31"
        );
    }

    #[test]
    fn vector_3_list_with_query() {
        let h = headers(&[
            ("workspace", "ws-0001"),
            ("content-type", "application/json"),
            ("x_ignored_header", "x"),
            ("x-sdk-date", "20240101T000000Z"),
            ("host", "127.0.0.1:18080"),
        ]);
        let query = "limit=10&name=a%20b%2F%2A~&offset=0&order_by_asc=true";
        assert_eq!(canonical_query(Some(query)), query);
        assert_eq!(
            canonical_query(Some("offset=0&name=a b/*~&limit=10&order_by_asc=true")),
            query
        );
        let sts = string_to_sign(
            &Method::GET,
            &format!("/v1/{PROJECT}/security/permission-sets"),
            Some(query),
            &h,
            &signed("content-type;host;workspace;x-sdk-date"),
            b"",
        );
        assert_eq!(
            sign(SK, &sts),
            "6e56b789beb6a285004c33bfd531537c794b8f3b8afb97cb80e85a56166ec547"
        );
    }

    #[test]
    fn verification_checks_date_window_and_signature() {
        let h = headers(&[
            ("workspace", "ws-0001"),
            ("content-type", "application/json"),
            ("x-sdk-date", "20240101T000000Z"),
            ("host", "127.0.0.1:18080"),
        ]);
        let names = signed("content-type;host;workspace;x-sdk-date");
        let path = "/v1/p/security/permission-sets";
        let good = sign(
            SK,
            &string_to_sign(&Method::GET, path, None, &h, &names, b""),
        );
        let auth = Authorization::parse(&format!(
            "SDK-HMAC-SHA256 Access=AK, SignedHeaders={}, Signature={good}",
            names.join(";")
        ))
        .expect("parses");
        assert_eq!(auth.access, "AK");
        let at = 1_704_067_200; // 2024-01-01T00:00:00Z
        let check = |auth: &Authorization, sk: &str, now: i64, body: &[u8]| {
            verify(auth, sk, &Method::GET, path, None, &h, body, now)
        };
        assert_eq!(check(&auth, SK, at + 60, b""), Ok(()));
        assert_eq!(check(&auth, SK, at + 16 * 60, b""), Err(Refusal::Expired));
        assert_eq!(check(&auth, "other", at, b""), Err(Refusal::Mismatch));
        assert_eq!(check(&auth, SK, at, b"{}"), Err(Refusal::Mismatch));
        let unsigned_host = Authorization {
            signed_headers: signed("content-type;workspace;x-sdk-date"),
            ..auth.clone()
        };
        assert_eq!(check(&unsigned_host, SK, at, b""), Err(Refusal::Mismatch));
        assert!(Authorization::parse("Bearer x").is_none());
        assert!(
            Authorization::parse("SDK-HMAC-SHA256 Access=, SignedHeaders=a, Signature=b").is_none()
        );
        assert_eq!(canonical_uri("/v1/p/a%20b"), "/v1/p/a%20b/");
    }
}
