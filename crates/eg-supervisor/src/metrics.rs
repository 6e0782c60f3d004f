//! A small Prometheus text-format registry.
//!
//! Families are registered once per process and hand out label handles (atomic cells) that
//! objects resolve when their config is built, so the request path only adds to atomics.
//! Names are kept exactly as given: Easegress's counters are called
//! `httpserver_total_requests`, without a `_total` suffix added.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

/// The metric type, as written on the `# TYPE` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricType {
    /// Monotonic count.
    Counter,
    /// Value that goes up and down.
    Gauge,
    /// Bucketed observations.
    Histogram,
}

impl MetricType {
    fn as_str(self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Histogram => "histogram",
        }
    }
}

/// One labelled time series: a value, or histogram buckets.
#[derive(Debug, Default)]
pub struct Cell {
    /// Counter/gauge value (f64 bits for gauges set with [`Cell::set`]; integer otherwise).
    value: AtomicU64,
    /// Histogram bucket counts (cumulative computed at encode time).
    buckets: Box<[AtomicU64]>,
    /// Histogram sum, in f64 bits.
    sum: AtomicU64,
}

impl Cell {
    /// Adds `n` to a counter.
    #[inline]
    pub fn inc_by(&self, n: u64) {
        self.value.fetch_add(n, Ordering::Relaxed);
    }

    /// Adds one to a counter.
    #[inline]
    pub fn inc(&self) {
        self.inc_by(1);
    }

    /// Sets a gauge.
    pub fn set(&self, v: u64) {
        self.value.store(v, Ordering::Relaxed);
    }

    /// The current value.
    pub fn get(&self) -> u64 {
        self.value.load(Ordering::Relaxed)
    }
}

/// A family of series sharing a name, help text and label names.
#[derive(Debug)]
pub struct Family {
    name: String,
    help: String,
    kind: MetricType,
    label_names: Vec<String>,
    /// Histogram upper bounds (empty for counters and gauges).
    bounds: Vec<f64>,
    series: Mutex<BTreeMap<Vec<String>, Arc<Cell>>>,
}

impl Family {
    /// The series for `labels` (in the family's label-name order), created on first use.
    /// Call it when building a config, not per request.
    pub fn with(&self, labels: &[&str]) -> Arc<Cell> {
        let key: Vec<String> = labels.iter().map(|s| s.to_string()).collect();
        let mut series = self.series.lock();
        series
            .entry(key)
            .or_insert_with(|| {
                Arc::new(Cell {
                    buckets: (0..self.bounds.len()).map(|_| AtomicU64::new(0)).collect(),
                    ..Default::default()
                })
            })
            .clone()
    }

    /// Records one observation into a histogram series.
    pub fn observe(&self, cell: &Cell, v: f64) {
        for (i, b) in self.bounds.iter().enumerate() {
            if v <= *b {
                cell.buckets[i].fetch_add(1, Ordering::Relaxed);
                break;
            }
        }
        cell.value.fetch_add(1, Ordering::Relaxed);
        let mut cur = cell.sum.load(Ordering::Relaxed);
        loop {
            let next = (f64::from_bits(cur) + v).to_bits();
            match cell
                .sum
                .compare_exchange_weak(cur, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => break,
                Err(actual) => cur = actual,
            }
        }
    }

    /// Drops the series for `labels` (when an object goes away).
    pub fn remove(&self, labels: &[&str]) {
        let key: Vec<String> = labels.iter().map(|s| s.to_string()).collect();
        self.series.lock().remove(&key);
    }

    fn encode(&self, out: &mut String) {
        let _ = writeln!(out, "# HELP {} {}", self.name, self.help);
        let _ = writeln!(out, "# TYPE {} {}", self.name, self.kind.as_str());
        for (labels, cell) in self.series.lock().iter() {
            let lbl = render_labels(&self.label_names, labels, None);
            match self.kind {
                MetricType::Counter | MetricType::Gauge => {
                    let _ = writeln!(out, "{}{} {}", self.name, lbl, cell.get());
                }
                MetricType::Histogram => {
                    let mut cumulative = 0;
                    for (i, b) in self.bounds.iter().enumerate() {
                        cumulative += cell.buckets[i].load(Ordering::Relaxed);
                        let l = render_labels(&self.label_names, labels, Some(&b.to_string()));
                        let _ = writeln!(out, "{}_bucket{} {}", self.name, l, cumulative);
                    }
                    let count = cell.get();
                    let l = render_labels(&self.label_names, labels, Some("+Inf"));
                    let _ = writeln!(out, "{}_bucket{} {}", self.name, l, count);
                    let sum = f64::from_bits(cell.sum.load(Ordering::Relaxed));
                    let _ = writeln!(out, "{}_sum{} {}", self.name, lbl, sum);
                    let _ = writeln!(out, "{}_count{} {}", self.name, lbl, count);
                }
            }
        }
    }
}

fn render_labels(names: &[String], values: &[String], le: Option<&str>) -> String {
    if names.is_empty() && le.is_none() {
        return String::new();
    }
    let mut s = String::from("{");
    let mut first = true;
    for (n, v) in names.iter().zip(values) {
        if !first {
            s.push(',');
        }
        first = false;
        let v = v
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n");
        let _ = write!(s, "{n}=\"{v}\"");
    }
    if let Some(le) = le {
        if !first {
            s.push(',');
        }
        let _ = write!(s, "le=\"{le}\"");
    }
    s.push('}');
    s
}

/// All metric families of the process.
#[derive(Debug, Default)]
pub struct MetricsRegistry {
    families: Mutex<BTreeMap<String, Arc<Family>>>,
}

impl MetricsRegistry {
    /// The family called `name`, registered on first call (later calls return the same one).
    pub fn family(
        &self,
        name: &str,
        help: &str,
        kind: MetricType,
        label_names: &[&str],
    ) -> Arc<Family> {
        self.histogram_family(name, help, kind, label_names, &[])
    }

    /// Like [`MetricsRegistry::family`], with histogram bucket upper bounds.
    pub fn histogram_family(
        &self,
        name: &str,
        help: &str,
        kind: MetricType,
        label_names: &[&str],
        bounds: &[f64],
    ) -> Arc<Family> {
        self.families
            .lock()
            .entry(name.to_string())
            .or_insert_with(|| {
                Arc::new(Family {
                    name: name.to_string(),
                    help: help.to_string(),
                    kind,
                    label_names: label_names.iter().map(|s| s.to_string()).collect(),
                    bounds: bounds.to_vec(),
                    series: Mutex::new(BTreeMap::new()),
                })
            })
            .clone()
    }

    /// The Prometheus text exposition of every family.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        for fam in self.families.lock().values() {
            fam.encode(&mut out);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counter_keeps_its_name_and_labels() {
        let reg = MetricsRegistry::default();
        let fam = reg.family(
            "httpserver_total_requests",
            "requests",
            MetricType::Counter,
            &["name", "backend"],
        );
        let cell = fam.with(&["demo", "pipeline-demo"]);
        cell.inc();
        cell.inc_by(2);
        let text = reg.encode();
        assert!(
            text.contains("# TYPE httpserver_total_requests counter"),
            "{text}"
        );
        assert!(
            text.contains("httpserver_total_requests{name=\"demo\",backend=\"pipeline-demo\"} 3"),
            "{text}"
        );
    }

    #[test]
    fn histogram_is_cumulative() {
        let reg = MetricsRegistry::default();
        let fam = reg.histogram_family("d", "h", MetricType::Histogram, &["n"], &[1.0, 10.0]);
        let cell = fam.with(&["x"]);
        fam.observe(&cell, 0.5);
        fam.observe(&cell, 5.0);
        fam.observe(&cell, 50.0);
        let text = reg.encode();
        assert!(text.contains("d_bucket{n=\"x\",le=\"1\"} 1"), "{text}");
        assert!(text.contains("d_bucket{n=\"x\",le=\"10\"} 2"), "{text}");
        assert!(text.contains("d_bucket{n=\"x\",le=\"+Inf\"} 3"), "{text}");
        assert!(text.contains("d_count{n=\"x\"} 3"), "{text}");
    }
}
