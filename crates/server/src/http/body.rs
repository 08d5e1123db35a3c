//! Reading a request body that must be JSON, for every surface; each renders the errors
//! in its own envelope.

use std::pin::Pin;

use axum::body::{Body, Bytes, HttpBody};
use axum::http::header::CONTENT_TYPE;
use axum::http::HeaderMap;

/// Why a body could not be read.
#[derive(Debug)]
pub enum BodyError {
    /// The Content-Type is not JSON (`application/json` or any `+json` type).
    NotJson,
    /// The body is larger than the configured limit.
    TooLarge,
    /// Reading it failed otherwise.
    Unreadable(String),
}

/// Whether the Content-Type is JSON (`application/json` or any `+json` type). A request
/// with no Content-Type counts as JSON when `lenient`.
pub fn is_json(headers: &HeaderMap, lenient: bool) -> bool {
    let value = headers.get(CONTENT_TYPE);
    if value.is_some_and(|v| v.as_bytes() == b"application/json") {
        return true; // what nearly every client sends
    }
    let essence = value
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim().as_bytes());
    match essence {
        None => lenient,
        Some(e) => {
            e.eq_ignore_ascii_case(b"application/json")
                || e.len() >= 5 && e[e.len() - 5..].eq_ignore_ascii_case(b"+json")
        }
    }
}

/// The body's bytes, if it is JSON (see `is_json`) of at most `limit` bytes.
pub async fn json_bytes(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
    lenient: bool,
) -> Result<Bytes, BodyError> {
    if !is_json(headers, lenient) {
        return Err(BodyError::NotJson);
    }
    read(body, limit).await
}

/// A whole body of at most `limit` bytes. A body that arrives as one piece, as a small
/// request's usually does, is handed on as it is: no copy and no buffer list. One in
/// pieces is joined in a buffer the size its length announced, so that a large one (an
/// import) is not copied again at each doubling.
pub async fn read(mut body: Body, limit: usize) -> Result<Bytes, BodyError> {
    let announced = body.size_hint().lower();
    if announced > limit as u64 {
        return Err(BodyError::TooLarge);
    }
    let mut whole = Bytes::new();
    let mut joined: Option<Vec<u8>> = None;
    while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        let frame =
            frame.map_err(|e| BodyError::Unreadable(format!("the request body broke off: {e}")))?;
        let Ok(data) = frame.into_data() else {
            continue; // trailers
        };
        let read = joined.as_ref().map_or(whole.len(), Vec::len) + data.len();
        if read > limit {
            return Err(BodyError::TooLarge);
        }
        match &mut joined {
            Some(joined) => joined.extend_from_slice(&data),
            None if whole.is_empty() => whole = data,
            None => {
                let mut both = Vec::with_capacity(read.max(announced as usize));
                both.extend_from_slice(&whole);
                both.extend_from_slice(&data);
                joined = Some(both);
            }
        }
    }
    Ok(joined.map_or(whole, Bytes::from))
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn chunked(chunks: &[&'static str]) -> Body {
        let stream = futures_util::stream::iter(
            chunks
                .iter()
                .map(|c| Ok::<_, std::io::Error>(Bytes::from_static(c.as_bytes())))
                .collect::<Vec<_>>(),
        );
        Body::from_stream(stream)
    }

    #[tokio::test]
    async fn a_body_is_read_whole_in_one_piece_or_many() {
        assert_eq!(read(Body::from("{}"), 2).await.expect("one piece"), "{}");
        let many = read(chunked(&["{\"a\"", ":", "1}"]), 100)
            .await
            .expect("many");
        assert_eq!(many, "{\"a\":1}");
        assert_eq!(read(Body::empty(), 0).await.expect("empty"), "");
    }

    #[tokio::test]
    async fn a_body_past_the_limit_is_too_large_whether_announced_or_not() {
        assert!(matches!(
            read(Body::from("{\"a\":1}"), 6).await,
            Err(BodyError::TooLarge)
        ));
        assert!(matches!(
            read(chunked(&["{\"a\"", ":", "1}"]), 6).await,
            Err(BodyError::TooLarge)
        ));
    }

    #[test]
    fn json_content_types_are_recognised() {
        let with = |value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(value));
            headers
        };
        assert!(is_json(&with("application/json"), false));
        assert!(is_json(&with("Application/JSON; charset=utf-8"), false));
        assert!(is_json(&with("application/merge-patch+json"), false));
        assert!(!is_json(&with("text/plain"), true));
        assert!(!is_json(&HeaderMap::new(), false));
        assert!(is_json(&HeaderMap::new(), true));
    }
}
