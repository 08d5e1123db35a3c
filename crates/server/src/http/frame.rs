//! The frame every request goes through, as one service around the router: its request id
//! (the client's `x-request-id`, or a new one) on the request and on the answer, a trailing
//! slash trimmed, a tracing span, the request timeout answered in the envelope of the
//! surface the request came to, a panic answered as a 500, and `Connection: close` on an
//! HTTP/1 answer given before the request's body was read to its end (a refusal before
//! the body arrived, say): the server cannot read the next request on that connection,
//! so it closes it, and says so. One service and one boxed future per request, where a
//! stack of tower-http layers costs a service and a future each.

use std::convert::Infallible;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes, HttpBody};
use axum::http::header::CONNECTION;
use axum::http::uri::PathAndQuery;
use axum::http::{HeaderValue, Request, Uri, Version};
use axum::response::Response;
use futures_util::FutureExt;
use tower::{Layer, Service};
use tracing::Instrument;

use super::meta::REQUEST_ID;
use super::request_id::SequentialIds;

/// The answer to a request to `path` that took longer than the timeout: each API has its
/// own envelope, which the layers above know and this one does not.
pub type TimedOut = Arc<dyn Fn(&str, Duration) -> Response + Send + Sync>;

#[derive(Clone)]
pub struct FrameLayer {
    ids: SequentialIds,
    timeout: Duration,
    timed_out: TimedOut,
    panicked: fn() -> Response,
}

impl FrameLayer {
    /// `timed_out` answers a request that took longer than `timeout`; `panicked` one whose
    /// handler panicked.
    pub fn new(timeout: Duration, timed_out: TimedOut, panicked: fn() -> Response) -> Self {
        FrameLayer {
            ids: SequentialIds::default(),
            timeout,
            timed_out,
            panicked,
        }
    }
}

impl<S> Layer<S> for FrameLayer {
    type Service = Frame<S>;

    fn layer(&self, inner: S) -> Frame<S> {
        Frame {
            inner,
            layer: self.clone(),
        }
    }
}

#[derive(Clone)]
pub struct Frame<S> {
    inner: S,
    layer: FrameLayer,
}

impl<S> Service<Request<Body>> for Frame<S>
where
    S: Service<Request<Body>, Response = Response, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<Body>) -> Self::Future {
        let started = Instant::now();
        let id = match request.headers().get(REQUEST_ID) {
            Some(id) => id.clone(),
            None => {
                let id = self.layer.ids.next();
                request.headers_mut().insert(REQUEST_ID, id.clone());
                id
            }
        };
        trim_trailing_slash(request.uri_mut());
        // Only an HTTP/1 request with a body still to come is watched (a check is; a GET
        // is not): hyper closes its connection if the answer leaves the body unread.
        let read_whole = (matches!(request.version(), Version::HTTP_10 | Version::HTTP_11)
            && !request.body().is_end_stream())
        .then(|| {
            let read_whole = Arc::new(AtomicBool::new(false));
            let watched = read_whole.clone();
            request =
                std::mem::take(&mut request).map(|body| Body::new(Watched::new(body, watched)));
            read_whole
        });
        let span = tracing::debug_span!(
            "request",
            method = %request.method(),
            uri = %request.uri(),
            request_id = ?id,
        );
        // The path is kept for the rare answer that needs it (a reference count, no copy).
        let uri = request.uri().clone();
        let (timeout, timed_out, panicked) = (
            self.layer.timeout,
            self.layer.timed_out.clone(),
            self.layer.panicked,
        );
        let answer = std::panic::catch_unwind(AssertUnwindSafe(|| self.inner.call(request)));
        Box::pin(
            async move {
                let outcome = match answer {
                    Ok(answer) => {
                        AssertUnwindSafe(tokio::time::timeout(timeout, answer))
                            .catch_unwind()
                            .await
                    }
                    Err(panic) => Err(panic),
                };
                let mut response = match outcome {
                    Ok(Ok(Ok(response))) => response,
                    Ok(Ok(Err(never))) => match never {},
                    Ok(Err(_elapsed)) => timed_out(uri.path(), timeout),
                    Err(_panic) => {
                        tracing::error!("a request handler panicked");
                        panicked()
                    }
                };
                let status = response.status();
                if status.is_server_error() {
                    tracing::error!(%status, latency = ?started.elapsed(), "response failed");
                } else {
                    tracing::debug!(%status, latency = ?started.elapsed(), "finished processing request");
                }
                response.headers_mut().insert(REQUEST_ID, id);
                if read_whole.is_some_and(|read| !read.load(Ordering::Acquire)) {
                    response
                        .headers_mut()
                        .insert(CONNECTION, HeaderValue::from_static("close"));
                }
                Ok(response)
            }
            .instrument(span),
        )
    }
}

/// A request body that records when it has been read to its end.
struct Watched {
    inner: Body,
    read_whole: Arc<AtomicBool>,
}

impl Watched {
    fn new(inner: Body, read_whole: Arc<AtomicBool>) -> Self {
        Watched { inner, read_whole }
    }
}

impl HttpBody for Watched {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Bytes>, axum::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None)) || self.inner.is_end_stream() {
            self.read_whole.store(true, Ordering::Release);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

/// `/a/b/` becomes `/a/b` (the query kept); `/` stays.
fn trim_trailing_slash(uri: &mut Uri) {
    let path = uri.path();
    if path.len() <= 1 || !path.ends_with('/') {
        return;
    }
    let trimmed = path.trim_end_matches('/');
    let trimmed = if trimmed.is_empty() { "/" } else { trimmed };
    let with_query = match uri.query() {
        Some(query) => format!("{trimmed}?{query}"),
        None => trimmed.to_string(),
    };
    let mut parts = uri.clone().into_parts();
    let Ok(path_and_query) = PathAndQuery::try_from(with_query) else {
        return;
    };
    parts.path_and_query = Some(path_and_query);
    if let Ok(new) = Uri::from_parts(parts) {
        *uri = new;
    }
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    use tower::ServiceExt;

    use super::*;

    fn frame<F, Fut>(handler: F) -> Frame<tower::util::ServiceFn<F>>
    where
        F: FnMut(Request<Body>) -> Fut,
    {
        let timed_out: TimedOut = Arc::new(|path: &str, _| {
            let body = serde_json::json!({"timed_out": path});
            (StatusCode::REQUEST_TIMEOUT, axum::Json(body)).into_response()
        });
        FrameLayer::new(Duration::from_millis(50), timed_out, || {
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        })
        .layer(tower::service_fn(handler))
    }

    async fn body_of(response: Response) -> serde_json::Value {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .expect("body");
        serde_json::from_slice(&bytes).expect("json")
    }

    #[tokio::test]
    async fn a_panic_is_a_500_with_the_request_id() {
        let service = frame(|_: Request<Body>| async {
            if true {
                panic!("handler bug");
            }
            Ok::<Response, Infallible>(StatusCode::OK.into_response())
        });
        let response = service
            .oneshot(Request::get("/v1/x").body(Body::empty()).expect("request"))
            .await
            .expect("infallible");
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(response.headers().contains_key(REQUEST_ID));
    }

    #[tokio::test]
    async fn a_slow_answer_is_answered_for_its_path() {
        let service = frame(|_: Request<Body>| async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Ok::<Response, Infallible>(StatusCode::OK.into_response())
        });
        let response = service
            .clone()
            .oneshot(
                Request::get("/segment/users")
                    .body(Body::empty())
                    .expect("request"),
            )
            .await
            .expect("infallible");
        assert_eq!(response.status(), StatusCode::REQUEST_TIMEOUT);
        assert_eq!(body_of(response).await["timed_out"], "/segment/users");
    }

    #[tokio::test]
    async fn an_answer_that_leaves_the_body_unread_says_the_connection_closes() {
        let refuses = frame(|_: Request<Body>| async {
            Ok::<Response, Infallible>(StatusCode::UNAUTHORIZED.into_response())
        });
        let reads = frame(|request: Request<Body>| async move {
            let _ = axum::body::to_bytes(request.into_body(), 1 << 16).await;
            Ok::<Response, Infallible>(StatusCode::OK.into_response())
        });
        let post = || {
            Request::post("/v1/x")
                .body(Body::from("{}"))
                .expect("request")
        };
        let refused = refuses.clone().oneshot(post()).await.expect("infallible");
        assert_eq!(refused.headers()[CONNECTION], "close");
        let read = reads.oneshot(post()).await.expect("infallible");
        assert!(!read.headers().contains_key(CONNECTION));
        let get = Request::get("/v1/x").body(Body::empty()).expect("request");
        let no_body = refuses.oneshot(get).await.expect("infallible");
        assert!(!no_body.headers().contains_key(CONNECTION));
    }

    fn trimmed(uri: &str) -> String {
        let mut uri: Uri = uri.parse().expect("uri");
        trim_trailing_slash(&mut uri);
        uri.to_string()
    }

    #[test]
    fn trailing_slashes_are_trimmed_and_the_query_kept() {
        assert_eq!(trimmed("/segment/"), "/segment");
        assert_eq!(trimmed("/a/b//?x=1"), "/a/b?x=1");
        assert_eq!(trimmed("/"), "/");
        assert_eq!(trimmed("//"), "/");
        assert_eq!(trimmed("/a/b?x=/"), "/a/b?x=/");
    }
}
