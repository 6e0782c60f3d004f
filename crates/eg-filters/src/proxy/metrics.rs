//! The `proxy_*` Prometheus metrics of a pool, resolved once when the filter is built.

use std::sync::Arc;

use eg_supervisor::metrics::{Cell, Family, MetricType, MetricsRegistry, SummaryWindow};
use eg_supervisor::MemberInfo;

/// Label names, in Easegress's order.
const LABELS: [&str; 7] = [
    "clusterName",
    "clusterRole",
    "instanceName",
    "proxyName",
    "kind",
    "loadBalancePolicy",
    "filterPolicy",
];

/// Body-size buckets: Easegress's `ExponentialBucketsRange(200, 400000, 10)`.
fn body_size_buckets() -> Vec<f64> {
    const MIN: f64 = 200.0;
    const MAX: f64 = 400_000.0;
    const COUNT: i32 = 10;
    let factor = (MAX / MIN).powf(1.0 / f64::from(COUNT - 1));
    (0..COUNT).map(|i| MIN * factor.powi(i)).collect()
}

/// Metric handles and simple counters of one pool.
pub struct PoolMetrics {
    total: Arc<Cell>,
    errors: Arc<Cell>,
    req_family: Arc<Family>,
    req_size: Arc<Cell>,
    resp_family: Arc<Family>,
    resp_size: Arc<Cell>,
    req_pct_family: Arc<Family>,
    req_size_pct: Arc<Cell>,
    resp_pct_family: Arc<Family>,
    resp_size_pct: Arc<Cell>,
    /// Requests handled by this generation (for the status).
    pub count: Cell,
    /// Of which answered with status >= 400.
    pub error_count: Cell,
}

impl PoolMetrics {
    /// Registers (or finds) the families and resolves this pool's series.
    pub fn new(
        reg: &MetricsRegistry,
        member: &MemberInfo,
        pool_name: &str,
        lb_policy: &str,
        filter_policy: &str,
    ) -> PoolMetrics {
        let labels = [
            member.cluster_name.as_str(),
            member.cluster_role.as_str(),
            member.name.as_str(),
            pool_name,
            super::KIND_NAME,
            lb_policy,
            filter_policy,
        ];
        let total = reg.family(
            "proxy_total_connections",
            "the total count of proxy connections",
            MetricType::Counter,
            &LABELS,
        );
        let errors = reg.family(
            "proxy_total_error_connections",
            "the total count of proxy error connections",
            MetricType::Counter,
            &LABELS,
        );
        let buckets = body_size_buckets();
        let req_family = reg.histogram_family(
            "proxy_request_body_size",
            "a histogram of the total size of the request.",
            MetricType::Histogram,
            &LABELS,
            &buckets,
        );
        let resp_family = reg.histogram_family(
            "proxy_response_body_size",
            "a histogram of the total size of the response.",
            MetricType::Histogram,
            &LABELS,
            &buckets,
        );
        let req_pct_family = reg.family(
            "proxy_request_body_size_percentage",
            "a summary of the total size of the request.",
            MetricType::Summary,
            &LABELS,
        );
        let resp_pct_family = reg.family(
            "proxy_response_body_size_percentage",
            "a summary of the total size of the response.",
            MetricType::Summary,
            &LABELS,
        );
        PoolMetrics {
            req_size_pct: req_pct_family.with(&labels),
            req_pct_family,
            resp_size_pct: resp_pct_family.with(&labels),
            resp_pct_family,
            total: total.with(&labels),
            errors: errors.with(&labels),
            req_size: req_family.with(&labels),
            req_family,
            resp_size: resp_family.with(&labels),
            resp_family,
            count: Cell::default(),
            error_count: Cell::default(),
        }
    }

    /// Records one proxied request.
    #[inline]
    pub fn record(&self, status: u16, req_size: u64, resp_size: u64) {
        self.total.inc();
        self.count.inc();
        if status >= 400 {
            self.errors.inc();
            self.error_count.inc();
        }
        self.req_family.observe(&self.req_size, req_size as f64);
        self.resp_family.observe(&self.resp_size, resp_size as f64);
        let window = SummaryWindow::now();
        self.req_pct_family
            .observe_in(&self.req_size_pct, req_size as f64, window);
        self.resp_pct_family
            .observe_in(&self.resp_size_pct, resp_size as f64, window);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_span_200_to_400000() {
        let b = body_size_buckets();
        assert_eq!(b.len(), 10);
        assert!((b[0] - 200.0).abs() < 1e-9);
        assert!((b[9] - 400_000.0).abs() < 1e-6);
    }
}
