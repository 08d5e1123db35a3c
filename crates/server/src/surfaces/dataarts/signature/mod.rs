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
mod tests;
