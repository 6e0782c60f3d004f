//! The buffer pool's Prometheus series, named as Easegress names them. They carry no labels:
//! every FileServer of the process adds to the same counters, and the gauges show the pool
//! that changed last (as in Easegress).

use std::sync::Arc;

use eg_supervisor::metrics::{Cell, MetricType, MetricsRegistry};

/// The series a pool updates.
#[derive(Debug, Clone)]
pub struct PoolMetrics {
    /// `fileserver_buffer_pool_hits_total`.
    pub hits: Arc<Cell>,
    /// `fileserver_buffer_pool_miss_total`.
    pub misses: Arc<Cell>,
    /// `fileserver_buffer_pool_evicts_total`: entries dropped for room, age or a change.
    pub evicts: Arc<Cell>,
    /// `fileserver_buffer_pool_ttl_evicts_total`: entries dropped for their age.
    pub ttl_evicts: Arc<Cell>,
    /// `fileserver_buffer_pool_size`: bytes held.
    pub size: Arc<Cell>,
    /// `fileserver_buffer_pool_files`: files held.
    pub files: Arc<Cell>,
}

impl PoolMetrics {
    /// Registers the families in `reg` (once per process) and takes their series.
    pub fn new(reg: &MetricsRegistry) -> PoolMetrics {
        let series =
            |name: &str, help: &str, kind: MetricType| reg.family(name, help, kind, &[]).with(&[]);
        PoolMetrics {
            hits: series(
                "fileserver_buffer_pool_hits_total",
                "Total number of buffer pool hits",
                MetricType::Counter,
            ),
            misses: series(
                "fileserver_buffer_pool_miss_total",
                "Total number of buffer pool miss",
                MetricType::Counter,
            ),
            evicts: series(
                "fileserver_buffer_pool_evicts_total",
                "Total number of buffer pool evicts",
                MetricType::Counter,
            ),
            ttl_evicts: series(
                "fileserver_buffer_pool_ttl_evicts_total",
                "Total number of buffer pool ttl evicts",
                MetricType::Counter,
            ),
            size: series(
                "fileserver_buffer_pool_size",
                "Current size of buffer pool in bytes",
                MetricType::Gauge,
            ),
            files: series(
                "fileserver_buffer_pool_files",
                "Current number of files in buffer pool",
                MetricType::Gauge,
            ),
        }
    }
}
