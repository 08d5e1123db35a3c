//! The check route, answered before the router. A check is the request grantd exists for,
//! and on it axum's matching over ~150 routes, its path-parameter and matched-path
//! extensions and its per-route services cost as much as deciding does. This service
//! knows `POST /v1/tenants/{tenant}/check` by its shape and calls the function the routed
//! handler calls (`decisions::answer_check`), counting it in the metrics under the same
//! route template. Every other request goes on to the router, and so does a check whose
//! tenant would need percent-decoding: the router answers it the same way.

use std::convert::Infallible;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::Body;
use axum::http::{Method, Request};
use axum::response::Response;
use futures_util::future::Either;
use tower::{Layer, Service};

use super::decisions::{answer_check, CHECK_ROUTE};
use crate::http::metrics;
use crate::state::AppState;

/// The tenant of a check's path (`CHECK_ROUTE`), when it needs no decoding.
fn check_tenant(path: &str) -> Option<&str> {
    let (before, after) = CHECK_ROUTE.split_once("{tenant}")?;
    let tenant = path.strip_prefix(before)?.strip_suffix(after)?;
    (!tenant.is_empty() && !tenant.contains(['/', '%'])).then_some(tenant)
}

#[derive(Clone)]
pub struct DirectLayer {
    state: AppState,
    /// The connection's client, for the caller's authorization (the router's requests
    /// carry it as an extension; a check does not, to spare an allocation).
    client: Option<IpAddr>,
}

impl DirectLayer {
    pub fn new(state: AppState) -> Self {
        DirectLayer {
            state,
            client: None,
        }
    }

    /// This layer, for one connection's client.
    pub fn for_client(&self, client: IpAddr) -> Self {
        DirectLayer {
            state: self.state.clone(),
            client: Some(client),
        }
    }
}

impl<S> Layer<S> for DirectLayer {
    type Service = Direct<S>;

    fn layer(&self, inner: S) -> Direct<S> {
        Direct {
            inner,
            state: self.state.clone(),
            client: self.client,
        }
    }
}

#[derive(Clone)]
pub struct Direct<S> {
    inner: S,
    state: AppState,
    client: Option<IpAddr>,
}

type Answer = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

impl<S> Service<Request<Body>> for Direct<S>
where
    S: Service<Request<Body>, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<Answer, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        if request.method() != Method::POST || check_tenant(request.uri().path()).is_none() {
            return Either::Right(self.inner.call(request));
        }
        let state = self.state.clone();
        let client = self.client;
        let (parts, body) = request.into_parts();
        Either::Left(Box::pin(async move {
            let started = Instant::now();
            let tenant = check_tenant(parts.uri.path()).unwrap_or_default();
            let answer = answer_check(&state, tenant, client, &parts, body).await;
            metrics::record(
                CHECK_ROUTE,
                &parts.method,
                answer.status(),
                started.elapsed().as_secs_f64(),
            );
            Ok(answer)
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::check_tenant;

    #[test]
    fn only_a_check_path_with_a_plain_tenant_is_answered_here() {
        assert_eq!(check_tenant("/v1/tenants/acme/check"), Some("acme"));
        assert_eq!(
            check_tenant("/v1/tenants/a.b-c_d:1/check"),
            Some("a.b-c_d:1")
        );
        for routed in [
            "/v1/tenants/acme/check/batch",
            "/v1/tenants//check",
            "/v1/tenants/a/b/check",
            "/v1/tenants/ac%6De/check",
            "/v1/tenants/acme/checks",
            "/v1/tenants/acme",
            "/v2/tenants/acme/check",
        ] {
            assert_eq!(check_tenant(routed), None, "{routed}");
        }
    }
}
