//! Huawei Cloud's `SDK-HMAC-SHA256` request signatures, verified as the official SDKs
//! compute them: the canonical request (method, path with a trailing `/`, sorted query, the
//! signed headers, the SHA-256 of the body), hashed into the string to sign with
//! `X-Sdk-Date`, and an HMAC-SHA256 keyed by the secret key, compared in constant time.
//!
//! What is verified is what the handlers act on: the payload hash is always computed from
//! the body received (`X-Sdk-Content-Sha256`, when sent, must be signed and agree with it;
//! `UNSIGNED-PAYLOAD` only without a body), and the query is decoded as the handlers decode
//! it ([`query_pairs`]), a repeated key's values in the order the canonical form fixes.

use axum::http::{HeaderMap, Method};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::service::secret::same_bytes;

pub const ALGORITHM: &str = "SDK-HMAC-SHA256";
pub const DATE: &str = "x-sdk-date";
const CONTENT_SHA256: &str = "x-sdk-content-sha256";
/// What the SDK puts in `X-Sdk-Content-Sha256` for bodies other than JSON.
const UNSIGNED_PAYLOAD: &[u8] = b"UNSIGNED-PAYLOAD";
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

/// A query string's pairs in order, decoded as a form (`+` is a space, `%XX` a byte,
/// invalid UTF-8 replaced): the one decoding both the handlers and the signature use.
pub fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

/// The canonical query: [`query_pairs`] sorted by key then value (a repeated key's values
/// sorted, as Huawei's SDK sorts them), each re-encoded.
pub fn canonical_query(query: Option<&str>) -> String {
    let mut pairs = query_pairs(query);
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k.as_bytes()), encode(v.as_bytes())))
        .collect::<Vec<_>>()
        .join("&")
}

/// Whether each repeated key's values arrive sorted, as the SDK sends them: the canonical
/// query does not keep their order, and the handlers read a key's first value.
fn repeated_keys_in_order(query: Option<&str>) -> bool {
    let mut pairs = query_pairs(query);
    // A stable sort by key: each key's values stay in the order they arrived.
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    pairs
        .windows(2)
        .all(|w| w[0].0 != w[1].0 || w[0].1 <= w[1].1)
}

/// The string to sign for a request, from what was received: its payload hash is the
/// body's, whatever `X-Sdk-Content-Sha256` says ([`verify`] checks that header).
pub fn string_to_sign(
    method: &Method,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    signed_headers: &[String],
    body: &[u8],
) -> String {
    string_to_sign_with_payload(
        method,
        path,
        query,
        headers,
        signed_headers,
        &payload_hash(body),
    )
}

/// The hex SHA-256 of a body, as the canonical request carries it.
pub fn payload_hash(body: &[u8]) -> String {
    hex::encode(Sha256::digest(body))
}

/// The string to sign with `payload` as the canonical request's payload hash. Huawei's SDK
/// signs the body's hash, or for a body `X-Sdk-Content-Sha256` when it sends one; grantd
/// verifies with the body's hash only (see [`string_to_sign`]).
pub fn string_to_sign_with_payload(
    method: &Method,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    signed_headers: &[String],
    payload: &str,
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
    /// `X-Sdk-Content-Sha256` is not signed, or is neither the body's SHA-256 nor, for a
    /// request without a body, `UNSIGNED-PAYLOAD`.
    Payload,
    /// A repeated query key's values are not in the order the signature fixes (sorted).
    QueryOrder,
}

/// Verifies a parsed `Authorization` against the request, at `now` (seconds since the
/// epoch). `host` must be among the signed headers, as the SDKs always sign it. The date
/// window is the only defence against replay: an unchanged request verifies again within it.
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
    if let Some(given) = headers.get(CONTENT_SHA256) {
        let signed = auth.signed_headers.iter().any(|s| s == CONTENT_SHA256);
        let given = given.as_bytes();
        let agrees = given == payload_hash(body).as_bytes()
            || (body.is_empty() && given == UNSIGNED_PAYLOAD);
        if !signed || !agrees {
            return Err(Refusal::Payload);
        }
    }
    if !repeated_keys_in_order(query) {
        return Err(Refusal::QueryOrder);
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

    /// Whether a GET signed by a client for `signed_query` verifies when received with
    /// `received_query`.
    fn verifies_for(signed_query: &str, received_query: &str) -> bool {
        let h = headers(&[("host", "h"), ("x-sdk-date", "20240101T000000Z")]);
        let names = signed("host;x-sdk-date");
        let path = "/v1/p/security/permission-sets";
        let to_sign = string_to_sign(&Method::GET, path, Some(signed_query), &h, &names, b"");
        let auth = Authorization {
            access: "AK".into(),
            signed_headers: names,
            signature: sign(SK, &to_sign),
        };
        let now = 1_704_067_200;
        verify(
            &auth,
            SK,
            &Method::GET,
            path,
            Some(received_query),
            &h,
            b"",
            now,
        )
        .is_ok()
    }

    #[test]
    fn a_plus_in_the_query_is_a_space_as_the_handlers_read_it() {
        assert_eq!(canonical_query(Some("name=a+b")), "name=a%20b");
        assert_eq!(canonical_query(Some("name=a%2Bb")), "name=a%2Bb");
        assert!(verifies_for("name=a%2Bb", "name=a%2Bb"));
        assert!(verifies_for("name=a%20b", "name=a+b"));
        // Signed for `a+b`; received as `a+b`, which the handlers read as `a b`.
        assert!(!verifies_for("name=a%2Bb", "name=a+b"));
        // Split and decoded as the handlers' `wire::Query` does: one function for both.
        assert_eq!(
            canonical_query(Some("k=v=w&&flag&%zz=%FF")),
            "%25zz=%EF%BF%BD&flag=&k=v%3Dw"
        );
    }

    #[test]
    fn repeated_query_keys_sort_by_value_and_must_arrive_in_that_order() {
        assert_eq!(
            canonical_query(Some("limit=5&limit=10")),
            "limit=10&limit=5"
        );
        assert_eq!(canonical_query(Some("b=2&a=1&b=1")), "a=1&b=1&b=2");
        assert!(verifies_for("limit=10&offset=0", "offset=0&limit=10"));
        assert!(verifies_for("limit=10&limit=5", "limit=10&limit=5"));
        // The same canonical query, but the handlers read a key's first value: 5, not 10.
        assert!(!verifies_for("limit=10&limit=5", "limit=5&limit=10"));
    }

    #[test]
    fn the_payload_is_the_body_received_whatever_x_sdk_content_sha256_says() {
        let path = "/v1/p/security/permission-sets";
        let now = 1_704_067_200;
        let original = br#"{"name": "legit"}"#;
        let evil = br#"{"name": "EVIL-substituted-body"}"#;
        let base = [("host", "h"), ("x-sdk-date", "20240101T000000Z")];
        // The client signs over `names` with `payload` as the payload hash, as the SDK does.
        let client = |names: &str, payload: &str, sent: &HeaderMap| Authorization {
            access: "AK".into(),
            signed_headers: signed(names),
            signature: sign(
                SK,
                &string_to_sign_with_payload(
                    &Method::POST,
                    path,
                    None,
                    sent,
                    &signed(names),
                    payload,
                ),
            ),
        };
        let check = |auth: &Authorization, sent: &HeaderMap, body: &[u8]| {
            verify(auth, SK, &Method::POST, path, None, sent, body, now)
        };
        // Captured without the header; re-sent with another body and an unsigned header.
        let plain = headers(&base);
        let auth = client("host;x-sdk-date", &payload_hash(original), &plain);
        assert_eq!(check(&auth, &plain, original), Ok(()));
        for value in [
            payload_hash(original),
            payload_hash(evil),
            "UNSIGNED-PAYLOAD".to_string(),
        ] {
            let mut swapped = plain.clone();
            swapped.insert(
                CONTENT_SHA256,
                HeaderValue::from_str(&value).expect("value"),
            );
            assert!(check(&auth, &swapped, evil).is_err(), "{value}");
        }
        // Sent with the header, not signed: refused, body swapped or not.
        let mut with = plain.clone();
        with.insert(
            CONTENT_SHA256,
            HeaderValue::from_str(&payload_hash(original)).expect("value"),
        );
        let auth = client("host;x-sdk-date", &payload_hash(original), &with);
        assert!(check(&auth, &with, original).is_err());
        assert!(check(&auth, &with, evil).is_err());
        // Signed with the body's hash: accepted for that body only.
        let names = "host;x-sdk-content-sha256;x-sdk-date";
        let auth = client(names, &payload_hash(original), &with);
        assert_eq!(check(&auth, &with, original), Ok(()));
        assert!(check(&auth, &with, evil).is_err());
        // `UNSIGNED-PAYLOAD`, signed: the SDK hashes an empty body anyway; refused with a body.
        let mut unsigned = plain.clone();
        unsigned.insert(CONTENT_SHA256, HeaderValue::from_static("UNSIGNED-PAYLOAD"));
        let auth = client(names, &payload_hash(b""), &unsigned);
        assert_eq!(check(&auth, &unsigned, b""), Ok(()));
        let auth = client(names, "UNSIGNED-PAYLOAD", &unsigned);
        assert!(check(&auth, &unsigned, original).is_err());
        assert!(check(&auth, &unsigned, evil).is_err());
        // `UNSIGNED-PAYLOAD` not signed, even without a body.
        let auth = client("host;x-sdk-date", &payload_hash(b""), &unsigned);
        assert!(check(&auth, &unsigned, b"").is_err());
    }
}
