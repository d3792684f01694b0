//! Observability for every request: a tracing span carrying the request id (so every log line
//! a handler writes names its request), one access-log line, and Prometheus metrics — request
//! counts and latency histograms by route template, method and status.
//!
//! Route labels are the matched template (`/api/developer/me`), never the raw path, so a
//! scanner probing random URLs cannot blow up the metric cardinality: unmatched requests all
//! count under `unmatched`.

use std::fmt::Write as _;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::response::Response;
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use tracing::Instrument;

/// The labels of the HTTP metrics. Built per request without copying a string: the method
/// and the matched route are shared with the request.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct HttpLabels {
    pub method: MethodLabel,
    pub route: RouteLabel,
    pub status: u16,
}

/// The `method` label.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MethodLabel(Method);

impl EncodeLabelValue for MethodLabel {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        encoder.write_str(self.0.as_str())
    }
}

/// The `route` label: the matched template, or `unmatched`.
#[derive(Debug, Clone)]
pub struct RouteLabel(Option<MatchedPath>);

impl RouteLabel {
    fn as_str(&self) -> &str {
        self.0.as_ref().map_or("unmatched", MatchedPath::as_str)
    }
}

impl PartialEq for RouteLabel {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for RouteLabel {}

impl std::hash::Hash for RouteLabel {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl EncodeLabelValue for RouteLabel {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        encoder.write_str(self.as_str())
    }
}

/// The HTTP metrics, registered in the server's registry.
#[derive(Clone)]
pub struct HttpMetrics {
    requests: Family<HttpLabels, Counter>,
    latency: Family<HttpLabels, Histogram>,
}

fn latency_histogram() -> Histogram {
    // 0.5 ms … ~16 s, doubling.
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

impl HttpMetrics {
    pub fn register(registry: &mut Registry) -> Self {
        let requests = Family::<HttpLabels, Counter>::default();
        let latency =
            Family::<HttpLabels, Histogram>::new_with_constructor(latency_histogram as fn() -> Histogram);
        registry.register("portico_http_requests", "HTTP requests answered", requests.clone());
        registry.register(
            "portico_http_request_duration_seconds",
            "Time from receiving a request to sending its response head",
            latency.clone(),
        );
        Self { requests, latency }
    }

    fn record(&self, labels: HttpLabels, seconds: f64) {
        self.latency.get_or_create(&labels).observe(seconds);
        self.requests.get_or_create(&labels).inc();
    }
}

/// The outermost step of every request: assigns the request id (see
/// [`crate::http::request_id`]), then span, access log and metrics around `inner`.
pub async fn observed<F: Future<Output = Response>>(
    metrics: &HttpMetrics,
    req: Request,
    inner: impl FnOnce(Request) -> F,
) -> Response {
    let started = Instant::now();
    let (req, request_id) = crate::http::request_id::attach(req);
    let method = MethodLabel(req.method().clone());
    let route = RouteLabel(req.extensions().get::<MatchedPath>().cloned());

    let span = tracing::info_span!("request", id = %request_id, method = %method.0, route = %route.as_str());
    let response = crate::http::request_id::within(request_id, inner(req).instrument(span.clone())).await;

    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    span.in_scope(|| {
        tracing::info!(
            target: "portico::access",
            status,
            latency_ms = elapsed.as_secs_f64() * 1000.0,
            "{} {} {status}",
            method.0,
            route.as_str(),
        );
    });
    metrics.record(HttpLabels { method, route, status }, elapsed.as_secs_f64());
    response
}
