//! The request timeout, answered 408 in the envelope of the surface the request came to
//! (tower-http's timeout answers with an empty body, which no client can read).

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::http::Request;
use axum::response::{IntoResponse, Response};
use tower::{Layer, Service};

use crate::surfaces::native::error::ApiError;
use crate::surfaces::{dataarts, segment, slashid};

/// Which surface a path belongs to, from the configured base paths.
#[derive(Debug, Clone)]
pub struct SurfacePaths {
    pub segment: String,
    pub slashid: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Surface {
    Native,
    Segment,
    SlashId,
    DataArts,
}

fn under(path: &str, base: &str) -> bool {
    path.strip_prefix(base)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

impl SurfacePaths {
    fn of(&self, path: &str) -> Surface {
        if under(path, &self.segment) {
            Surface::Segment
        } else if under(path, &self.slashid) {
            Surface::SlashId
        } else if path.split('/').nth(3) == Some("security") && path.starts_with("/v1/") {
            Surface::DataArts
        } else {
            Surface::Native
        }
    }
}

fn timed_out(surface: Surface, limit: Duration) -> Response {
    let message = format!(
        "the request took longer than {} s and was abandoned; a write may still have \
         committed, so read before retrying",
        limit.as_secs()
    );
    match surface {
        Surface::Native => ApiError::new("request_timeout", message).into_response(),
        Surface::Segment => segment::timed_out(message),
        Surface::SlashId => slashid::timed_out(message),
        Surface::DataArts => dataarts::timed_out(message),
    }
}

#[derive(Clone)]
pub struct RequestTimeoutLayer {
    limit: Duration,
    paths: Arc<SurfacePaths>,
}

impl RequestTimeoutLayer {
    pub fn new(limit: Duration, paths: SurfacePaths) -> Self {
        RequestTimeoutLayer {
            limit,
            paths: Arc::new(paths),
        }
    }
}

impl<S> Layer<S> for RequestTimeoutLayer {
    type Service = RequestTimeout<S>;

    fn layer(&self, inner: S) -> RequestTimeout<S> {
        RequestTimeout {
            inner,
            limit: self.limit,
            paths: self.paths.clone(),
        }
    }
}

#[derive(Clone)]
pub struct RequestTimeout<S> {
    inner: S,
    limit: Duration,
    paths: Arc<SurfacePaths>,
}

impl<S, B> Service<Request<B>> for RequestTimeout<S>
where
    S: Service<Request<B>, Response = Response, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        // Which surface answers is worked out only when the time is up: most requests
        // finish in time, and the path is kept for the rest (a reference count, no copy).
        let uri = request.uri().clone();
        let paths = self.paths.clone();
        let limit = self.limit;
        let answer = self.inner.call(request);
        Box::pin(async move {
            match tokio::time::timeout(limit, answer).await {
                Ok(answered) => answered,
                Err(_) => Ok(timed_out(paths.of(uri.path()), limit)),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_find_their_surface() {
        let paths = SurfacePaths {
            segment: "/segment".into(),
            slashid: "/slashid".into(),
        };
        assert_eq!(paths.of("/segment/users"), Surface::Segment);
        assert_eq!(paths.of("/segment"), Surface::Segment);
        assert_eq!(paths.of("/segmentation"), Surface::Native);
        assert_eq!(paths.of("/slashid/persons"), Surface::SlashId);
        assert_eq!(
            paths.of("/v1/p1/security/permission-sets"),
            Surface::DataArts
        );
        assert_eq!(paths.of("/v1/tenants/t1/users"), Surface::Native);
        assert_eq!(paths.of("/healthz"), Surface::Native);
    }
}
