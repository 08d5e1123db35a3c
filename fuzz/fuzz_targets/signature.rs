//! DataArts signature headers and the canonical forms built from outside bytes: parsing
//! the Authorization header, the path and the query never panics, and verifying never
//! accepts a signature made with another key.
#![no_main]

use axum::http::{HeaderMap, HeaderValue, Method};
use grantd_server::surfaces::dataarts::signature::{
    canonical_query, canonical_uri, string_to_sign, verify, Authorization,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '\n');
    let (header, path, query) = (
        parts.next().unwrap_or(""),
        parts.next().unwrap_or("/"),
        parts.next(),
    );
    let _ = canonical_uri(path);
    let _ = canonical_query(query);
    if let Some(auth) = Authorization::parse(header) {
        let mut headers = HeaderMap::new();
        headers.insert("x-sdk-date", HeaderValue::from_static("20240101T000000Z"));
        headers.insert("host", HeaderValue::from_static("h"));
        let body = data;
        let _ = string_to_sign(
            &Method::POST,
            path,
            query,
            &headers,
            &auth.signed_headers,
            body,
        );
        // Whatever the header claims, only the right key verifies.
        let accepted = verify(
            &auth,
            "the-key",
            &Method::POST,
            path,
            query,
            &headers,
            body,
            1_704_067_200,
        );
        if accepted.is_ok() {
            let forged = grantd_server::surfaces::dataarts::signature::sign(
                "the-key",
                &string_to_sign(
                    &Method::POST,
                    path,
                    query,
                    &headers,
                    &auth.signed_headers,
                    body,
                ),
            );
            assert_eq!(forged, auth.signature);
        }
    }
});
