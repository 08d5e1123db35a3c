//! Prometheus metrics: requests per route, method and status, latency histograms, and the
//! store's own timings (recorded by the store). One recorder per process.

use std::collections::HashSet;
use std::sync::{OnceLock, RwLock};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

const BUCKETS: &[f64] = &[
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
    2.5, 5.0,
];

/// Installs the process's recorder on first use; `None` if another one was installed.
pub fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), BUCKETS)
                .ok()?
                .install_recorder()
                .ok()
        })
        .as_ref()
}

/// Label values seen so far, kept for the life of the process so that labelling a request
/// allocates nothing. Bounded: route templates, methods and status codes are finite sets.
static LABELS: OnceLock<RwLock<HashSet<&'static str>>> = OnceLock::new();

fn label(value: &str) -> &'static str {
    let labels = LABELS.get_or_init(Default::default);
    if let Some(found) = labels.read().ok().and_then(|l| l.get(value).copied()) {
        return found;
    }
    let Ok(mut labels) = labels.write() else {
        return "unknown";
    };
    if let Some(found) = labels.get(value) {
        return found;
    }
    let leaked: &'static str = Box::leak(value.to_string().into_boxed_str());
    labels.insert(leaked);
    leaked
}

/// Counts and times every request under its route template, never its concrete path.
pub async fn track(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = label(
        request
            .extensions()
            .get::<MatchedPath>()
            .map_or("unmatched", |p| p.as_str()),
    );
    let method = label(request.method().as_str());
    let response = next.run(request).await;
    let status = label(response.status().as_str());
    metrics::counter!("grantd_http_requests_total", "route" => route, "method" => method, "status" => status).increment(1);
    metrics::histogram!("grantd_http_request_duration_seconds", "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

pub async fn render() -> Response {
    let body = handle().map(|h| h.render()).unwrap_or_default();
    ([("content-type", "text/plain; version=0.0.4")], body).into_response()
}
