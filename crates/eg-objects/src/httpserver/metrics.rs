//! Prometheus series of an HTTPServer (`httpserver_*`), resolved when the config is built.

use std::sync::Arc;
use std::time::Instant;

use eg_supervisor::metrics::{Cell, Family, MetricType, SummaryWindow};
use eg_supervisor::Supervisor;

/// Labels of `httpserver_health`.
const SERVER_LABELS: [&str; 5] = ["clusterName", "clusterRole", "instanceName", "name", "kind"];
/// Labels of the per-backend families.
const BACKEND_LABELS: [&str; 7] = [
    "clusterName",
    "clusterRole",
    "instanceName",
    "name",
    "kind",
    "routerKind",
    "backend",
];
/// `httpserver_requests_duration` buckets, in milliseconds (Easegress's).
const DURATION_BUCKETS: [f64; 10] = [
    10.0, 50.0, 100.0, 200.0, 400.0, 800.0, 1000.0, 2000.0, 4000.0, 8000.0,
];
/// Size buckets in bytes: 10 exponential steps from 200 to 400000 (Easegress's).
const SIZE_BUCKETS: [f64; 10] = [
    200.0, 465.0, 1081.0, 2514.0, 5848.0, 13601.0, 31632.0, 73566.0, 171090.0, 400000.0,
];

/// The series of one backend of one server.
#[derive(Debug)]
pub(crate) struct BackendMetrics {
    requests: Arc<Cell>,
    responses: Arc<Cell>,
    errors: Arc<Cell>,
    duration_family: Arc<Family>,
    duration: Arc<Cell>,
    req_size_family: Arc<Family>,
    req_size: Arc<Cell>,
    resp_size_family: Arc<Family>,
    resp_size: Arc<Cell>,
    duration_pct: Observed,
    req_size_pct: Observed,
    resp_size_pct: Observed,
}

/// A resolved series and the family that records into it.
#[derive(Debug)]
struct Observed {
    family: Arc<Family>,
    cell: Arc<Cell>,
}

impl Observed {
    fn observe(&self, v: f64, window: SummaryWindow) {
        self.family.observe_in(&self.cell, v, window);
    }
}

impl BackendMetrics {
    /// Records one routed request, which ended at `now`.
    pub fn record(
        &self,
        status: u16,
        duration_ms: f64,
        req_size: u64,
        resp_size: u64,
        now: Instant,
    ) {
        self.requests.inc();
        self.responses.inc();
        if status >= 400 {
            self.errors.inc();
        }
        self.duration_family.observe(&self.duration, duration_ms);
        self.req_size_family
            .observe(&self.req_size, req_size as f64);
        self.resp_size_family
            .observe(&self.resp_size, resp_size as f64);
        let window = SummaryWindow::at(now);
        self.duration_pct.observe(duration_ms, window);
        self.req_size_pct.observe(req_size as f64, window);
        self.resp_size_pct.observe(resp_size as f64, window);
    }
}

/// Label values shared by a server's series.
#[derive(Debug, Clone)]
pub(crate) struct ServerLabels {
    cluster_name: String,
    cluster_role: String,
    instance: String,
    name: String,
}

impl ServerLabels {
    /// The labels of server `name` on this member.
    pub fn new(sup: &Supervisor, name: &str) -> ServerLabels {
        let m = sup.member();
        ServerLabels {
            cluster_name: m.cluster_name.clone(),
            cluster_role: m.cluster_role.to_string(),
            instance: m.name.clone(),
            name: name.to_string(),
        }
    }

    fn server(&self) -> [&str; 5] {
        [
            &self.cluster_name,
            &self.cluster_role,
            &self.instance,
            &self.name,
            super::KIND,
        ]
    }
}

/// The `httpserver_health` gauge of a server.
pub(crate) fn health(sup: &Supervisor, labels: &ServerLabels) -> Arc<Cell> {
    sup.metrics()
        .family(
            "httpserver_health",
            "show the status for the http server: 1 for ready, 0 for down",
            MetricType::Gauge,
            &SERVER_LABELS,
        )
        .with(&labels.server())
}

/// Resolves the series of `backend` under router kind `router_kind`.
pub(crate) fn backend(
    sup: &Supervisor,
    labels: &ServerLabels,
    router_kind: &str,
    backend: &str,
) -> BackendMetrics {
    let reg = sup.metrics();
    let [c, r, i, n, k] = labels.server();
    let values = [c, r, i, n, k, router_kind, backend];
    let counter = |name: &str, help: &str| {
        reg.family(name, help, MetricType::Counter, &BACKEND_LABELS)
            .with(&values)
    };
    let hist = |name: &str, help: &str, bounds: &[f64]| {
        let f = reg.histogram_family(name, help, MetricType::Histogram, &BACKEND_LABELS, bounds);
        let cell = f.with(&values);
        (f, cell)
    };
    let summary = |name: &str, help: &str| {
        let family = reg.family(name, help, MetricType::Summary, &BACKEND_LABELS);
        let cell = family.with(&values);
        Observed { family, cell }
    };
    let (duration_family, duration) = hist(
        "httpserver_requests_duration",
        "request processing duration histogram of a backend",
        &DURATION_BUCKETS,
    );
    let (req_size_family, req_size) = hist(
        "httpserver_requests_size_bytes",
        "a histogram of the total size of the request to a backend. Includes body",
        &SIZE_BUCKETS,
    );
    let (resp_size_family, resp_size) = hist(
        "httpserver_responses_size_bytes",
        "a histogram of the total size of the returned response body from a backend",
        &SIZE_BUCKETS,
    );
    BackendMetrics {
        requests: counter(
            "httpserver_total_requests",
            "the total count of http requests",
        ),
        responses: counter(
            "httpserver_total_responses",
            "the total count of http responses",
        ),
        errors: counter(
            "httpserver_total_error_requests",
            "the total count of http error requests",
        ),
        duration_family,
        duration,
        req_size_family,
        req_size,
        resp_size_family,
        resp_size,
        duration_pct: summary(
            "httpserver_requests_duration_percentage",
            "request processing duration summary of a backend",
        ),
        req_size_pct: summary(
            "httpserver_requests_size_bytes_percentage",
            "a summary of the total size of the request to a backend. Includes body",
        ),
        resp_size_pct: summary(
            "httpserver_responses_size_bytes_percentage",
            "a summary of the total size of the returned response body from a backend",
        ),
    }
}
