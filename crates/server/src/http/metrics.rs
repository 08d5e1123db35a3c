//! Prometheus metrics: requests per route, method and status, latency histograms, and the
//! store's own timings (recorded by the store). One recorder per process.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::{OnceLock, RwLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use foldhash::fast::RandomState;
use metrics::{Counter, Histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tower::{Layer, Service};

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

const BUCKETS: &[f64] = &[
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
    2.5, 5.0,
];

/// How often histogram samples are folded into their buckets. Until then each sample is
/// kept: without upkeep, memory grows with every request until `/metrics` is scraped.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// Installs the process's recorder on first use, with a thread doing its upkeep; `None` if
/// another recorder was installed.
pub fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let handle = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), BUCKETS)
                .ok()?
                .install_recorder()
                .ok()?;
            let upkeep = handle.clone();
            // A thread, not a task: the recorder outlives any one runtime (tests make many).
            std::thread::Builder::new()
                .name("grantd-metrics-upkeep".into())
                .spawn(move || loop {
                    std::thread::sleep(UPKEEP_EVERY);
                    upkeep.run_upkeep();
                })
                .ok()?;
            Some(handle)
        })
        .as_ref()
}

/// A route's metric handles by method and status, resolved once: recording then costs no
/// label allocation and no registry lookup. Bounded: routes, methods and statuses are few.
#[derive(Default)]
struct RouteMetrics {
    latency: Option<Histogram>,
    requests: Vec<(Method, StatusCode, Counter)>,
}

/// Hashed with foldhash: the key is a route template of ours, not a client's string.
static ROUTES: OnceLock<RwLock<HashMap<String, RouteMetrics, RandomState>>> = OnceLock::new();

/// Counts and times one answered request under its route template.
pub fn record(route: &str, method: &Method, status: StatusCode, seconds: f64) {
    let routes = ROUTES.get_or_init(Default::default);
    if let Ok(known) = routes.read() {
        if let Some(metrics) = known.get(route) {
            let counter = metrics
                .requests
                .iter()
                .find(|(m, s, _)| m == method && *s == status);
            if let (Some((_, _, counter)), Some(latency)) = (counter, &metrics.latency) {
                counter.increment(1);
                latency.record(seconds);
                return;
            }
        }
    }
    let Ok(mut known) = routes.write() else {
        return;
    };
    let metrics = known.entry(route.to_string()).or_default();
    let labels = |extra: Vec<(&'static str, String)>| -> Vec<metrics::Label> {
        std::iter::once(("route", route.to_string()))
            .chain(extra)
            .map(|(k, v)| metrics::Label::new(k, v))
            .collect()
    };
    let latency = metrics.latency.get_or_insert_with(|| {
        metrics::histogram!("grantd_http_request_duration_seconds", labels(vec![]))
    });
    latency.record(seconds);
    let counter = metrics::counter!(
        "grantd_http_requests_total",
        labels(vec![
            ("method", method.to_string()),
            ("status", status.as_str().to_string())
        ])
    );
    counter.increment(1);
    metrics.requests.push((method.clone(), status, counter));
}

/// Counts and times every request under its route template, never its concrete path.
/// Added with `Router::layer`, so that each route's template is known; a plain service
/// and future rather than `middleware::from_fn`, which boxes both on every request.
#[derive(Clone, Copy, Default)]
pub struct TrackLayer;

impl<S> Layer<S> for TrackLayer {
    type Service = Track<S>;

    fn layer(&self, inner: S) -> Track<S> {
        Track { inner }
    }
}

#[derive(Clone)]
pub struct Track<S> {
    inner: S,
}

impl<S> Service<Request> for Track<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
    S::Future: Unpin,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Tracked<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        Tracked {
            started: Instant::now(),
            route: request.extensions().get::<MatchedPath>().cloned(),
            method: request.method().clone(),
            answer: self.inner.call(request),
        }
    }
}

pub struct Tracked<F> {
    started: Instant,
    route: Option<MatchedPath>,
    method: Method,
    answer: F,
}

impl<F> Future for Tracked<F>
where
    F: Future<Output = Result<Response, Infallible>> + Unpin,
{
    type Output = Result<Response, Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let response = match Pin::new(&mut self.answer).poll(cx) {
            Poll::Ready(Ok(response)) => response,
            Poll::Ready(Err(never)) => match never {},
            Poll::Pending => return Poll::Pending,
        };
        let route = self.route.as_ref().map_or("unmatched", |p| p.as_str());
        record(
            route,
            &self.method,
            response.status(),
            self.started.elapsed().as_secs_f64(),
        );
        Poll::Ready(Ok(response))
    }
}

pub async fn render() -> Response {
    let body = handle().map(|h| h.render()).unwrap_or_default();
    ([("content-type", "text/plain; version=0.0.4")], body).into_response()
}
