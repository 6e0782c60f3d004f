//! The `proxy_*` Prometheus metrics of a pool, resolved once when the filter is built.

use std::sync::Arc;

use eg_supervisor::metrics::{Cell, MetricType, MetricsRegistry, SeriesSet, SummaryWindow};
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

/// Metric handles and simple counters of one pool, recorded together (the positions in
/// the set below).
pub struct PoolMetrics {
    series: SeriesSet<8>,
}

/// `proxy_total_connections`, `proxy_total_error_connections`.
const TOTAL: usize = 0;
const ERRORS: usize = 1;
/// The histograms `proxy_request_body_size`, `proxy_response_body_size`.
const REQ_SIZE: usize = 2;
const RESP_SIZE: usize = 3;
/// The summaries: the histograms' names with `_percentage`.
const REQ_SIZE_PCT: usize = 4;
const RESP_SIZE_PCT: usize = 5;
/// This generation's own counts, for the status: requests, and of which answered with
/// status >= 400.
const COUNT: usize = 6;
const ERROR_COUNT: usize = 7;

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
            series: SeriesSet::new([
                total.with(&labels),
                errors.with(&labels),
                req_family.with(&labels),
                resp_family.with(&labels),
                req_pct_family.with(&labels),
                resp_pct_family.with(&labels),
                Arc::new(Cell::default()),
                Arc::new(Cell::default()),
            ]),
        }
    }

    /// Requests handled by this generation (for the status).
    pub fn count(&self) -> u64 {
        self.series.cells()[COUNT].get()
    }

    /// Of [`PoolMetrics::count`], those answered with status >= 400.
    pub fn error_count(&self) -> u64 {
        self.series.cells()[ERROR_COUNT].get()
    }

    /// Records one proxied request.
    #[inline]
    pub fn record(&self, status: u16, req_size: u64, resp_size: u64) {
        let (s, w) = self.series.local();
        s[TOTAL].inc(w);
        s[COUNT].inc(w);
        if status >= 400 {
            s[ERRORS].inc(w);
            s[ERROR_COUNT].inc(w);
        }
        let window = SummaryWindow::now();
        let (req_size, resp_size) = (req_size as f64, resp_size as f64);
        s[REQ_SIZE].observe(w, req_size, window);
        s[RESP_SIZE].observe(w, resp_size, window);
        s[REQ_SIZE_PCT].observe(w, req_size, window);
        s[RESP_SIZE_PCT].observe(w, resp_size, window);
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
