//! Prometheus series of an HTTPServer (`httpserver_*`), resolved when the config is built.

use std::sync::Arc;
use std::time::Instant;

use eg_supervisor::metrics::{Cell, MetricType, SeriesSet, SummaryWindow};
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

/// The series of one backend of one server, recorded together (the positions in the set).
#[derive(Debug)]
pub(crate) struct BackendMetrics(SeriesSet<9>);

/// `httpserver_total_requests`, `httpserver_total_responses`,
/// `httpserver_total_error_requests`.
const REQUESTS: usize = 0;
const RESPONSES: usize = 1;
const ERRORS: usize = 2;
/// The histograms: `httpserver_requests_duration`, `httpserver_requests_size_bytes`,
/// `httpserver_responses_size_bytes`.
const DURATION: usize = 3;
const REQ_SIZE: usize = 4;
const RESP_SIZE: usize = 5;
/// The summaries: the histograms' names with `_percentage`.
const DURATION_PCT: usize = 6;
const REQ_SIZE_PCT: usize = 7;
const RESP_SIZE_PCT: usize = 8;

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
        let (s, w) = self.0.local();
        s[REQUESTS].inc(w);
        s[RESPONSES].inc(w);
        if status >= 400 {
            s[ERRORS].inc(w);
        }
        let window = SummaryWindow::at(now);
        let (req_size, resp_size) = (req_size as f64, resp_size as f64);
        s[DURATION].observe(w, duration_ms, window);
        s[REQ_SIZE].observe(w, req_size, window);
        s[RESP_SIZE].observe(w, resp_size, window);
        s[DURATION_PCT].observe(w, duration_ms, window);
        s[REQ_SIZE_PCT].observe(w, req_size, window);
        s[RESP_SIZE_PCT].observe(w, resp_size, window);
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
        reg.histogram_family(name, help, MetricType::Histogram, &BACKEND_LABELS, bounds)
            .with(&values)
    };
    let summary = |name: &str, help: &str| {
        reg.family(name, help, MetricType::Summary, &BACKEND_LABELS)
            .with(&values)
    };
    let cells: [Arc<Cell>; 9] = [
        counter(
            "httpserver_total_requests",
            "the total count of http requests",
        ),
        counter(
            "httpserver_total_responses",
            "the total count of http responses",
        ),
        counter(
            "httpserver_total_error_requests",
            "the total count of http error requests",
        ),
        hist(
            "httpserver_requests_duration",
            "request processing duration histogram of a backend",
            &DURATION_BUCKETS,
        ),
        hist(
            "httpserver_requests_size_bytes",
            "a histogram of the total size of the request to a backend. Includes body",
            &SIZE_BUCKETS,
        ),
        hist(
            "httpserver_responses_size_bytes",
            "a histogram of the total size of the returned response body from a backend",
            &SIZE_BUCKETS,
        ),
        summary(
            "httpserver_requests_duration_percentage",
            "request processing duration summary of a backend",
        ),
        summary(
            "httpserver_requests_size_bytes_percentage",
            "a summary of the total size of the request to a backend. Includes body",
        ),
        summary(
            "httpserver_responses_size_bytes_percentage",
            "a summary of the total size of the returned response body from a backend",
        ),
    ];
    BackendMetrics(SeriesSet::new(cells))
}
