//! The signature scheme against the Huawei SDK's own signing, and its refusals.

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
            &string_to_sign_with_payload(&Method::POST, path, None, sent, &signed(names), payload),
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
