//! A small Prometheus text-format registry.
//!
//! Families are registered once per process and hand out label handles (cells) that objects
//! resolve when their config is built, so the request path only adds to its own thread's
//! copy of a cell's counts ([`crate::shards`]), without a locked instruction.
//! Names are kept exactly as given: Easegress's counters are called
//! `httpserver_total_requests`, without a `_total` suffix added.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use parking_lot::Mutex;

use crate::shards::{Shards, Writer};

/// The metric type, as written on the `# TYPE` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricType {
    /// Monotonic count.
    Counter,
    /// Value that goes up and down.
    Gauge,
    /// Bucketed observations.
    Histogram,
    /// Quantiles of the recent observations (Prometheus client libraries' summary).
    Summary,
}

impl MetricType {
    fn as_str(self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Histogram => "histogram",
            MetricType::Summary => "summary",
        }
    }
}

/// One labelled time series: a gauge's value, or a counter's, histogram's or summary's
/// counts.
#[derive(Debug, Default)]
pub struct Cell {
    /// A gauge's value, set with [`Cell::set`].
    gauge: AtomicU64,
    /// Counts, one copy per recording thread; a read sums them.
    tallies: Shards<Tally>,
    /// Histogram upper bounds (shared with the family), which every tally carries next to
    /// its counts.
    bounds: Arc<[f64]>,
    /// Whether a tally keeps summary windows.
    windowed: bool,
}

/// One thread's counts of a cell.
#[derive(Debug)]
struct Tally {
    /// Counter value, or the observation count of a histogram or summary.
    value: AtomicU64,
    /// Histogram and summary sum, in f64 bits.
    sum: AtomicU64,
    /// Histogram buckets (cumulative counts computed at encode time), each bound beside
    /// its count: finding the bucket reads the lines it then writes.
    buckets: Box<[Bucket]>,
    /// Summary observations of the recent windows (`None` for other types).
    windows: Option<Box<[Window]>>,
}

/// One histogram bucket of a tally.
#[derive(Debug)]
struct Bucket {
    /// Upper bound (inclusive).
    le: f64,
    /// Observations in the bucket (not cumulative).
    count: AtomicU64,
}

impl Tally {
    fn new(bounds: &[f64], windowed: bool) -> Tally {
        Tally {
            value: AtomicU64::new(0),
            sum: AtomicU64::new(0),
            buckets: bounds
                .iter()
                .map(|&le| Bucket {
                    le,
                    count: AtomicU64::new(0),
                })
                .collect(),
            windows: windowed.then(|| (0..SUMMARY_WINDOWS).map(|_| Window::new()).collect()),
        }
    }

    /// Records one observation: into the summary window of `window` (when the tally keeps
    /// windows) and into the histogram bucket of `v` (when it has buckets).
    #[inline]
    fn record(&self, w: Writer, v: f64, window: Option<SummaryWindow>) {
        if let (Some(windows), Some(SummaryWindow(epoch))) = (&self.windows, window) {
            let win = &windows[(epoch % SUMMARY_WINDOWS) as usize];
            win.enter(epoch, w);
            w.add(&win.counts[summary_bucket(v)], 1);
        }
        if let Some(b) = self.buckets.iter().find(|b| v <= b.le) {
            w.add(&b.count, 1);
        }
        w.add(&self.value, 1);
        w.add_f64(&self.sum, v);
    }
}

/// One thread's counts of one series, held by a [`SeriesSet`].
#[derive(Debug, Clone)]
pub struct LocalSeries(Arc<Tally>);

impl LocalSeries {
    /// Adds one to a counter.
    #[inline]
    pub fn inc(&self, w: Writer) {
        w.add(&self.0.value, 1);
    }

    /// Records one observation into a histogram series, or into a summary series in
    /// `window`.
    #[inline]
    pub fn observe(&self, w: Writer, v: f64, window: SummaryWindow) {
        self.0.record(w, v, Some(window));
    }
}

/// Series recorded together at every event (a routed request's counters, histograms and
/// summaries), resolved once per thread.
///
/// Each series keeps its own per-thread counts, reached through its cell's shards: a
/// lookup and a few cache lines per series, a few dozen lines per request for a handful
/// of series. A set keeps, per thread, the handles of that thread's counts of all its
/// series side by side, so recording them all is one lookup. The series stay the cells'
/// own (their counts carry over a configuration reload, as any series' do).
#[derive(Debug)]
pub struct SeriesSet<const N: usize> {
    cells: [Arc<Cell>; N],
    locals: Shards<[LocalSeries; N]>,
}

impl<const N: usize> SeriesSet<N> {
    /// A set of `cells`, which [`SeriesSet::local`] gives back in this order.
    pub fn new(cells: [Arc<Cell>; N]) -> SeriesSet<N> {
        SeriesSet {
            cells,
            locals: Shards::new(),
        }
    }

    /// This thread's counts of the series, in the order given, and how to add to them.
    #[inline]
    pub fn local(&self) -> (&[LocalSeries; N], Writer) {
        self.locals.local(|| {
            self.cells
                .each_ref()
                .map(|c| LocalSeries(c.tallies.local_handle(|| c.new_tally()).0))
        })
    }

    /// The series, in the order given.
    pub fn cells(&self) -> &[Arc<Cell>; N] {
        &self.cells
    }
}

/// Quantiles a summary reports: Easegress's `DefaultObjectives`.
pub const SUMMARY_QUANTILES: [f64; 6] = [0.25, 0.5, 0.75, 0.9, 0.95, 0.99];
/// Windows a summary's observations are spread over (Prometheus's `DefAgeBuckets`).
const SUMMARY_WINDOWS: u64 = 5;
/// Seconds one window covers: the summary reports the last `SUMMARY_WINDOWS` ×
/// `SUMMARY_WINDOW_SECS` = 10 minutes (Prometheus's `DefMaxAge`).
const SUMMARY_WINDOW_SECS: u64 = 120;
/// Sub-buckets per power of two (2^3: a reported quantile is within 6.25 % of the value).
const SUB_BITS: u32 = 3;
/// Smallest power of two told apart (2^-10 ≈ 0.001); smaller values count as it.
const MIN_EXP: i32 = -10;
/// Largest power of two told apart (2^50); larger values count as it.
const MAX_EXP: i32 = 50;
/// Buckets of one window: one for zero, then `2^SUB_BITS` per power of two.
const SUMMARY_BUCKETS: usize = 1 + (((MAX_EXP - MIN_EXP + 1) as usize) << SUB_BITS);

/// One window of a summary: log-linear bucket counts of the observations made in it.
#[derive(Debug)]
struct Window {
    /// The window number (seconds since the process's first summary / window length)
    /// the counts belong to.
    epoch: AtomicU64,
    counts: Box<[AtomicU64]>,
}

impl Window {
    fn new() -> Window {
        Window {
            epoch: AtomicU64::new(0),
            counts: (0..SUMMARY_BUCKETS).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// Makes the window hold `epoch`'s observations: the first observation of a new
    /// window clears what the slot held `SUMMARY_WINDOWS` windows ago (on a shared tally,
    /// observations racing with the clearing may be lost: the quantiles are an estimate).
    fn enter(&self, epoch: u64, w: Writer) {
        let seen = self.epoch.load(Ordering::Acquire);
        if seen == epoch {
            return;
        }
        let mine = w.owned()
            || self
                .epoch
                .compare_exchange(seen, epoch, Ordering::AcqRel, Ordering::Acquire)
                .is_ok();
        if mine {
            self.epoch.store(epoch, Ordering::Release);
            for c in self.counts.iter() {
                c.store(0, Ordering::Relaxed);
            }
        }
    }
}

/// The summary window an observation falls in. Reading the clock costs as much as the
/// rest of an observation: a caller recording several summaries for one event reads it
/// once ([`SummaryWindow::now`]) and hands the window to [`Family::observe_in`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SummaryWindow(u64);

impl SummaryWindow {
    /// The window of the present moment.
    pub fn now() -> SummaryWindow {
        SummaryWindow::at(Instant::now())
    }

    /// The window of `moment`, for a caller that has just read the clock anyway.
    pub fn at(moment: Instant) -> SummaryWindow {
        static START: OnceLock<Instant> = OnceLock::new();
        let start = *START.get_or_init(|| moment);
        SummaryWindow(moment.saturating_duration_since(start).as_secs() / SUMMARY_WINDOW_SECS)
    }
}

/// The bucket of `v`: from the exponent and the top mantissa bits of the f64, no search.
fn summary_bucket(v: f64) -> usize {
    if v.is_nan() || v <= 0.0 {
        return 0;
    }
    let v = v.clamp(2f64.powi(MIN_EXP), 2f64.powi(MAX_EXP));
    let bits = v.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i32 - 1023;
    let sub = ((bits >> (52 - SUB_BITS)) & ((1 << SUB_BITS) - 1)) as usize;
    let i = 1 + (((exp - MIN_EXP) as usize) << SUB_BITS) + sub;
    i.min(SUMMARY_BUCKETS - 1)
}

/// The value reported for bucket `i`: the middle of its range.
fn summary_value(i: usize) -> f64 {
    if i == 0 {
        return 0.0;
    }
    let i = i - 1;
    let exp = (i >> SUB_BITS) as i32 + MIN_EXP;
    let sub = (i & ((1 << SUB_BITS) - 1)) as f64;
    let step = 2f64.powi(exp) / f64::from(1u32 << SUB_BITS);
    2f64.powi(exp) + step * (sub + 0.5)
}

impl Cell {
    fn new(bounds: Arc<[f64]>, windowed: bool) -> Cell {
        Cell {
            bounds,
            windowed,
            ..Cell::default()
        }
    }

    fn new_tally(&self) -> Tally {
        Tally::new(&self.bounds, self.windowed)
    }

    /// This thread's tally, and how to add to it.
    #[inline]
    fn tally(&self) -> (&Tally, Writer) {
        self.tallies.local(|| self.new_tally())
    }

    /// Adds `n` to a counter.
    #[inline]
    pub fn inc_by(&self, n: u64) {
        let (t, w) = self.tally();
        w.add(&t.value, n);
    }

    /// Adds one to a counter.
    #[inline]
    pub fn inc(&self) {
        self.inc_by(1);
    }

    /// Sets a gauge.
    pub fn set(&self, v: u64) {
        self.gauge.store(v, Ordering::Relaxed);
    }

    /// The current value: a gauge's, or a counter's (or observation count).
    pub fn get(&self) -> u64 {
        let counted: u64 = self
            .tallies
            .iter()
            .map(|t| t.value.load(Ordering::Relaxed))
            .sum();
        self.gauge.load(Ordering::Relaxed).wrapping_add(counted)
    }

    /// The sum of a histogram's or summary's observations.
    fn sum(&self) -> f64 {
        self.tallies
            .iter()
            .map(|t| f64::from_bits(t.sum.load(Ordering::Relaxed)))
            .sum()
    }

    /// Observations in histogram bucket `i` (not cumulative).
    fn bucket(&self, i: usize) -> u64 {
        self.tallies
            .iter()
            .filter_map(|t| t.buckets.get(i))
            .map(|b| b.count.load(Ordering::Relaxed))
            .sum()
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
    bounds: Arc<[f64]>,
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
                Arc::new(Cell::new(
                    self.bounds.clone(),
                    self.kind == MetricType::Summary,
                ))
            })
            .clone()
    }

    /// Records one observation into a histogram or summary series.
    pub fn observe(&self, cell: &Cell, v: f64) {
        let window = cell.windowed.then(SummaryWindow::now);
        self.record(cell, v, window);
    }

    /// Records one observation made in `window` (see [`SummaryWindow`]); for a histogram
    /// series the window is not used.
    pub fn observe_in(&self, cell: &Cell, v: f64, window: SummaryWindow) {
        self.record(cell, v, Some(window));
    }

    fn record(&self, cell: &Cell, v: f64, window: Option<SummaryWindow>) {
        let (t, w) = cell.tally();
        t.record(w, v, window);
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
                        cumulative += cell.bucket(i);
                        let l = render_labels(&self.label_names, labels, Some(&b.to_string()));
                        let _ = writeln!(out, "{}_bucket{} {}", self.name, l, cumulative);
                    }
                    let count = cell.get();
                    let l = render_labels(&self.label_names, labels, Some("+Inf"));
                    let _ = writeln!(out, "{}_bucket{} {}", self.name, l, count);
                    let _ = writeln!(out, "{}_sum{} {}", self.name, lbl, cell.sum());
                    let _ = writeln!(out, "{}_count{} {}", self.name, lbl, count);
                }
                MetricType::Summary => {
                    let windows = cell.tallies.iter().filter_map(|t| t.windows.as_deref());
                    let quantiles = quantiles(windows.flatten());
                    for (q, v) in SUMMARY_QUANTILES.iter().zip(quantiles) {
                        let l = render_labels_with(
                            &self.label_names,
                            labels,
                            Some(("quantile", &q.to_string())),
                        );
                        let _ = writeln!(out, "{}{} {}", self.name, l, v);
                    }
                    let _ = writeln!(out, "{}_sum{} {}", self.name, lbl, cell.sum());
                    let _ = writeln!(out, "{}_count{} {}", self.name, lbl, cell.get());
                }
            }
        }
    }
}

/// The [`SUMMARY_QUANTILES`] of the windows still current (`NaN` with no observation,
/// as Prometheus client libraries write them).
fn quantiles<'a>(windows: impl Iterator<Item = &'a Window>) -> Vec<f64> {
    let SummaryWindow(now) = SummaryWindow::now();
    let mut counts = vec![0u64; SUMMARY_BUCKETS];
    for w in windows {
        if now.saturating_sub(w.epoch.load(Ordering::Acquire)) < SUMMARY_WINDOWS {
            for (sum, c) in counts.iter_mut().zip(w.counts.iter()) {
                *sum += c.load(Ordering::Relaxed);
            }
        }
    }
    let total: u64 = counts.iter().sum();
    SUMMARY_QUANTILES
        .iter()
        .map(|q| {
            if total == 0 {
                return f64::NAN;
            }
            let rank = ((q * total as f64).ceil() as u64).max(1);
            let mut seen = 0;
            for (i, c) in counts.iter().enumerate() {
                seen += c;
                if seen >= rank {
                    return summary_value(i);
                }
            }
            f64::NAN
        })
        .collect()
}

fn render_labels(names: &[String], values: &[String], le: Option<&str>) -> String {
    render_labels_with(names, values, le.map(|le| ("le", le)))
}

/// The `{name="value",…}` part, with one extra label (`le`, `quantile`) at the end.
fn render_labels_with(names: &[String], values: &[String], extra: Option<(&str, &str)>) -> String {
    if names.is_empty() && extra.is_none() {
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
    if let Some((name, value)) = extra {
        if !first {
            s.push(',');
        }
        let _ = write!(s, "{name}=\"{value}\"");
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
                    bounds: bounds.into(),
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
    fn summary_reports_quantiles_sum_and_count() {
        let reg = MetricsRegistry::default();
        let fam = reg.family("s_percentage", "h", MetricType::Summary, &["n"]);
        let empty = fam.with(&["none"]);
        let cell = fam.with(&["x"]);
        for v in 1..=1000 {
            fam.observe(&cell, f64::from(v));
        }
        let text = reg.encode();
        assert!(text.contains("# TYPE s_percentage summary"), "{text}");
        assert!(text.contains("s_percentage_count{n=\"x\"} 1000"), "{text}");
        assert!(text.contains("s_percentage_sum{n=\"x\"} 500500"), "{text}");
        assert!(
            text.contains("s_percentage{n=\"none\",quantile=\"0.5\"} NaN"),
            "{text}"
        );
        drop(empty);
        for (q, want) in SUMMARY_QUANTILES
            .iter()
            .zip([250.0, 500.0, 750.0, 900.0, 950.0, 990.0])
        {
            let prefix = format!("s_percentage{{n=\"x\",quantile=\"{q}\"}} ");
            let line = text.lines().find(|l| l.starts_with(&prefix)).unwrap();
            let got: f64 = line[prefix.len()..].parse().unwrap();
            assert!(
                (got - want).abs() / want < 0.07,
                "{line}: want about {want}"
            );
        }
    }

    #[test]
    fn summary_buckets_cover_their_values() {
        for v in [0.0, 0.001, 0.3, 1.0, 7.5, 1024.0, 123_456.0, 4e12] {
            let got = summary_value(summary_bucket(v));
            assert!(v == 0.0 || (got - v).abs() / v < 0.07, "{v} -> {got}");
        }
        assert_eq!(summary_bucket(f64::NAN), 0);
        assert_eq!(
            summary_bucket(f64::INFINITY),
            summary_bucket(2f64.powi(MAX_EXP))
        );
        assert!(summary_bucket(f64::MAX) < SUMMARY_BUCKETS);
    }

    #[test]
    fn series_recorded_from_many_threads_add_up() {
        let reg = MetricsRegistry::default();
        let hist = reg.histogram_family("h", "h", MetricType::Histogram, &["n"], &[1.0, 10.0]);
        let summary = reg.family("s", "h", MetricType::Summary, &["n"]);
        let counter = reg.family("c", "h", MetricType::Counter, &["n"]);
        let (h, s, c) = (
            hist.with(&["x"]),
            summary.with(&["x"]),
            counter.with(&["x"]),
        );
        std::thread::scope(|scope| {
            for _ in 0..12 {
                scope.spawn(|| {
                    for v in [0.5, 5.0, 50.0] {
                        hist.observe(&h, v);
                        summary.observe(&s, v);
                        c.inc();
                    }
                });
            }
        });
        let text = reg.encode();
        assert!(text.contains("h_bucket{n=\"x\",le=\"1\"} 12"), "{text}");
        assert!(text.contains("h_bucket{n=\"x\",le=\"10\"} 24"), "{text}");
        assert!(text.contains("h_count{n=\"x\"} 36"), "{text}");
        assert!(text.contains("h_sum{n=\"x\"} 666"), "{text}");
        assert!(text.contains("s_count{n=\"x\"} 36"), "{text}");
        assert!(text.contains("s_sum{n=\"x\"} 666"), "{text}");
        assert!(text.contains("s{n=\"x\",quantile=\"0.25\"} 0.5"), "{text}");
        assert!(text.contains("c{n=\"x\"} 36"), "{text}");
    }

    /// A registry with one histogram, summary and counter family, and the series `x` of each.
    fn three_families() -> (MetricsRegistry, [Arc<Cell>; 3]) {
        let reg = MetricsRegistry::default();
        let cells = [
            reg.histogram_family("h", "h", MetricType::Histogram, &["n"], &[1.0, 10.0])
                .with(&["x"]),
            reg.family("s", "h", MetricType::Summary, &["n"])
                .with(&["x"]),
            reg.family("c", "h", MetricType::Counter, &["n"])
                .with(&["x"]),
        ];
        (reg, cells)
    }

    #[test]
    fn a_series_set_records_what_its_families_would() {
        let (by_set, cells) = three_families();
        let set = SeriesSet::new(cells);
        let (by_family, [h, s, c]) = three_families();
        let fams = by_family.families.lock().clone();
        let window = SummaryWindow::now();
        for v in [0.5, 5.0, 50.0, 7.0] {
            let (l, w) = set.local();
            l[0].observe(w, v, window);
            l[1].observe(w, v, window);
            l[2].inc(w);
            fams["h"].observe(&h, v);
            fams["s"].observe_in(&s, v, window);
            c.inc();
        }
        let text = by_set.encode();
        assert_eq!(text, by_family.encode());
        assert!(text.contains("h_bucket{n=\"x\",le=\"10\"} 3"), "{text}");
        assert!(text.contains("s_count{n=\"x\"} 4"), "{text}");
        assert!(text.contains("c{n=\"x\"} 4"), "{text}");
    }

    #[test]
    fn a_series_set_adds_to_the_counts_its_series_already_have() {
        let (reg, cells) = three_families();
        cells[2].inc_by(5);
        let first = SeriesSet::new(cells);
        let (l, w) = first.local();
        l[2].inc(w);
        // A reload resolves the same series again: the new set goes on from their counts.
        let fams = reg.families.lock().clone();
        let again = SeriesSet::new(["h", "s", "c"].map(|f| fams[f].with(&["x"])));
        let (l, w) = again.local();
        l[2].inc(w);
        l[0].observe(w, 2.0, SummaryWindow::now());
        assert_eq!(again.cells()[2].get(), 7);
        assert!(Arc::ptr_eq(&again.cells()[2], &first.cells()[2]));
        let text = reg.encode();
        assert!(text.contains("c{n=\"x\"} 7"), "{text}");
        assert!(text.contains("h_bucket{n=\"x\",le=\"10\"} 1"), "{text}");
    }

    #[test]
    fn a_series_set_recorded_from_many_threads_adds_up() {
        let (reg, cells) = three_families();
        let set = SeriesSet::new(cells);
        // More threads than owned shards: some share the last one.
        std::thread::scope(|scope| {
            for _ in 0..MAX_THREADS_IN_TEST {
                scope.spawn(|| {
                    for v in [0.5, 5.0, 50.0] {
                        let (l, w) = set.local();
                        l[0].observe(w, v, SummaryWindow::now());
                        l[1].observe(w, v, SummaryWindow::now());
                        l[2].inc(w);
                    }
                });
            }
        });
        let n = 3 * MAX_THREADS_IN_TEST;
        let text = reg.encode();
        assert!(text.contains(&format!("h_count{{n=\"x\"}} {n}")), "{text}");
        assert!(text.contains(&format!("s_count{{n=\"x\"}} {n}")), "{text}");
        assert!(text.contains(&format!("c{{n=\"x\"}} {n}")), "{text}");
        assert_eq!(set.cells()[2].get(), n as u64);
    }

    /// Threads a many-threads test starts: over the most owned shards there can be.
    const MAX_THREADS_IN_TEST: usize = 70;

    #[test]
    fn a_gauge_reads_what_was_set() {
        let reg = MetricsRegistry::default();
        let g = reg.family("g", "h", MetricType::Gauge, &[]).with(&[]);
        g.set(1);
        g.set(0);
        assert_eq!(g.get(), 0);
        g.set(7);
        assert!(reg.encode().contains("g 7"));
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
