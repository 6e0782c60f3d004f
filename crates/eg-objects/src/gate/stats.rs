//! Request statistics for the status object: counts, 1/5/15-minute rates, error rates,
//! latency percentiles, sizes and status codes.
//!
//! The request path only adds to its own thread's counts ([`eg_supervisor::shards`]), with
//! no locked instruction. Rates are EWMAs ticked every 5 s by one background thread for
//! every live [`RequestStats`], as go-metrics' arbiter does for Easegress, so they follow the
//! traffic whether or not anyone reads them; percentiles (from a fixed log-scale histogram)
//! are computed when the status is read.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use eg_supervisor::shards::Shards;
use parking_lot::Mutex;
use serde_json::{json, Map, Value};

/// EWMA tick interval.
const TICK: Duration = Duration::from_secs(5);
/// Latency histogram: bucket `i` holds durations up to `FIRST_BOUND_US * GROWTH^i` µs.
const BUCKETS: usize = 96;
const FIRST_BOUND_US: f64 = 20.0;
const GROWTH: f64 = 1.2;
/// Status codes counted individually (100..=599).
const CODES: usize = 600;

#[derive(Debug)]
struct Ewma {
    alpha: f64,
    rate: f64,
    init: bool,
}

impl Ewma {
    fn new(minutes: f64) -> Ewma {
        Ewma {
            alpha: 1.0 - (-(TICK.as_secs_f64()) / 60.0 / minutes).exp(),
            rate: 0.0,
            init: false,
        }
    }

    fn tick(&mut self, count: u64) {
        let instant = count as f64 / TICK.as_secs_f64();
        if self.init {
            self.rate += self.alpha * (instant - self.rate);
        } else {
            self.rate = instant;
            self.init = true;
        }
    }
}

#[derive(Debug)]
struct Rates {
    all: [Ewma; 3],
    err: [Ewma; 3],
    /// The request and error counts at the last tick.
    ticked: (u64, u64),
}

/// Every ticked statistics object. The ticker holds a reference to each and drops the ones
/// only it still holds; a check of the count is a plain load, where upgrading a weak
/// reference would be a locked compare-and-swap per object and tick (a server with 10,000
/// paths has 10,001 of them).
static TICKED: LazyLock<Mutex<Vec<Arc<RequestStats>>>> = LazyLock::new(|| {
    let spawned = std::thread::Builder::new()
        .name("eg-stats-tick".into())
        .spawn(|| loop {
            std::thread::sleep(TICK);
            tick_all();
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot start the statistics ticker; rates stay 0");
    }
    Mutex::new(Vec::new())
});

fn tick_all() {
    let mut list = TICKED.lock();
    list.retain(|s| Arc::strong_count(s) > 1);
    for s in list.iter() {
        s.tick();
    }
}

/// Statistics of a server or of one path.
#[derive(Debug)]
pub(crate) struct RequestStats {
    /// The counts, one copy per recording thread; a read sums them.
    tallies: Shards<Tally>,
    /// Whether each status code is counted.
    with_codes: bool,
    rates: Mutex<Rates>,
}

/// One thread's counts of a [`RequestStats`].
#[derive(Debug)]
struct Tally {
    count: AtomicU64,
    errors: AtomicU64,
    total_us: AtomicU64,
    min_us: AtomicU64,
    max_us: AtomicU64,
    hist: Box<[AtomicU64]>,
    req_size: AtomicU64,
    resp_size: AtomicU64,
    codes: Option<Box<[AtomicU64]>>,
}

impl Tally {
    fn new(with_codes: bool) -> Tally {
        Tally {
            count: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            total_us: AtomicU64::new(0),
            min_us: AtomicU64::new(u64::MAX),
            max_us: AtomicU64::new(0),
            hist: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            req_size: AtomicU64::new(0),
            resp_size: AtomicU64::new(0),
            codes: with_codes.then(|| (0..CODES).map(|_| AtomicU64::new(0)).collect()),
        }
    }
}

/// The histogram's upper bounds in µs, [`bound_ms`] × 1000.
static BOUNDS_US: LazyLock<[f64; BUCKETS]> =
    LazyLock::new(|| std::array::from_fn(|i| FIRST_BOUND_US * GROWTH.powi(i as i32)));

/// The first bucket whose bound is at least `us` (a search of the bounds: a logarithm
/// cost twice as much, and each request records twice).
fn bucket_of(us: u64) -> usize {
    let us = us as f64;
    BOUNDS_US.partition_point(|&b| b < us).min(BUCKETS - 1)
}

fn bound_ms(i: usize) -> f64 {
    FIRST_BOUND_US * GROWTH.powi(i as i32) / 1000.0
}

impl RequestStats {
    /// Statistics whose rates the background ticker keeps current; `with_codes` also
    /// counts each status code.
    pub fn ticked(with_codes: bool) -> Arc<RequestStats> {
        let s = Arc::new(RequestStats::new(with_codes));
        TICKED.lock().push(Arc::clone(&s));
        s
    }

    /// Statistics nobody ticks (tests tick them by hand).
    fn new(with_codes: bool) -> RequestStats {
        RequestStats {
            tallies: Shards::new(),
            with_codes,
            rates: Mutex::new(Rates {
                all: [Ewma::new(1.0), Ewma::new(5.0), Ewma::new(15.0)],
                err: [Ewma::new(1.0), Ewma::new(5.0), Ewma::new(15.0)],
                ticked: (0, 0),
            }),
        }
    }

    /// Records one finished request.
    pub fn record(&self, status: u16, duration: Duration, req_size: u64, resp_size: u64) {
        let us = duration.as_micros().min(u64::MAX as u128) as u64;
        let (t, w) = self.tallies.local(|| Tally::new(self.with_codes));
        w.add(&t.count, 1);
        if status >= 400 {
            w.add(&t.errors, 1);
        }
        w.add(&t.total_us, us);
        w.min(&t.min_us, us);
        w.max(&t.max_us, us);
        w.add(&t.hist[bucket_of(us)], 1);
        w.add(&t.req_size, req_size);
        w.add(&t.resp_size, resp_size);
        if let Some(c) = t.codes.as_ref().and_then(|c| c.get(status as usize)) {
            w.add(c, 1);
        }
    }

    /// The sum over the threads' tallies of one counter.
    fn total(&self, counter: impl Fn(&Tally) -> &AtomicU64) -> u64 {
        self.tallies
            .iter()
            .map(|t| counter(t).load(Relaxed))
            .fold(0, u64::wrapping_add)
    }

    /// The sums over the threads' tallies of each of `n` counters (`None`: a tally
    /// without them).
    fn totals(&self, n: usize, counters: impl Fn(&Tally) -> Option<&[AtomicU64]>) -> Vec<u64> {
        let mut sums = vec![0u64; n];
        for t in self.tallies.iter() {
            for (sum, c) in sums.iter_mut().zip(counters(t).unwrap_or_default()) {
                *sum = sum.wrapping_add(c.load(Relaxed));
            }
        }
        sums
    }

    /// Total requests recorded.
    pub fn count(&self) -> u64 {
        self.total(|t| &t.count)
    }

    /// One 5-second tick: the requests since the last tick feed the rates. Statistics
    /// nothing was ever recorded in are left alone: their rates start with the first tick
    /// after their first request, as a path's meter in Easegress exists only from its
    /// path's first request (`httpstat`'s top N makes it then), and a server with many
    /// paths that see no traffic pays nothing for them but this check.
    fn tick(&self) {
        if self.tallies.iter().next().is_none() {
            return;
        }
        let (count, errors) = (self.count(), self.total(|t| &t.errors));
        let mut r = self.rates.lock();
        let (all, err) = (
            count.wrapping_sub(r.ticked.0),
            errors.wrapping_sub(r.ticked.1),
        );
        r.ticked = (count, errors);
        for m in &mut r.all {
            m.tick(all);
        }
        for m in &mut r.err {
            m.tick(err);
        }
    }

    /// The 1/5/15-minute rates of all requests and of errors, per second.
    fn rates(&self) -> ([f64; 3], [f64; 3]) {
        let r = self.rates.lock();
        (
            r.all.each_ref().map(|m| m.rate),
            r.err.each_ref().map(|m| m.rate),
        )
    }

    fn percentile(&self, counts: &[u64], total: u64, q: f64) -> f64 {
        if total == 0 {
            return 0.0;
        }
        let want = ((total as f64) * q).ceil().max(1.0) as u64;
        let mut acc = 0;
        for (i, c) in counts.iter().enumerate() {
            acc += c;
            if acc >= want {
                return round3(bound_ms(i));
            }
        }
        round3(bound_ms(BUCKETS - 1))
    }

    /// The Easegress status fields: count, m1/m5/m15, errCount, m1Err..., m1ErrPercent...,
    /// min/max/mean (ms), p25...p999 (ms), reqSize, respSize, and `codes` when counted.
    pub fn to_json(&self) -> Map<String, Value> {
        let (all, err) = self.rates();
        let count = self.count();
        let errors = self.total(|t| &t.errors);
        let counts = self.totals(BUCKETS, |t| Some(&t.hist));
        let total: u64 = counts.iter().sum();
        let pct = |e: f64, a: f64| if a > 0.0 { round3(e / a * 100.0) } else { 0.0 };
        let min = self.tallies.iter().map(|t| t.min_us.load(Relaxed)).min();
        let max = self.tallies.iter().map(|t| t.max_us.load(Relaxed)).max();
        let mut m = Map::new();
        m.insert("count".into(), json!(count));
        m.insert("m1".into(), json!(round3(all[0])));
        m.insert("m5".into(), json!(round3(all[1])));
        m.insert("m15".into(), json!(round3(all[2])));
        m.insert("errCount".into(), json!(errors));
        m.insert("m1Err".into(), json!(round3(err[0])));
        m.insert("m5Err".into(), json!(round3(err[1])));
        m.insert("m15Err".into(), json!(round3(err[2])));
        m.insert("m1ErrPercent".into(), json!(pct(err[0], all[0])));
        m.insert("m5ErrPercent".into(), json!(pct(err[1], all[1])));
        m.insert("m15ErrPercent".into(), json!(pct(err[2], all[2])));
        m.insert(
            "min".into(),
            json!(min.filter(|&m| m != u64::MAX).unwrap_or(0) / 1000),
        );
        m.insert("max".into(), json!(max.unwrap_or(0) / 1000));
        m.insert(
            "mean".into(),
            json!(self.total(|t| &t.total_us).checked_div(count).unwrap_or(0) / 1000),
        );
        for (name, q) in [
            ("p25", 0.25),
            ("p50", 0.5),
            ("p75", 0.75),
            ("p95", 0.95),
            ("p98", 0.98),
            ("p99", 0.99),
            ("p999", 0.999),
        ] {
            m.insert(name.into(), json!(self.percentile(&counts, total, q)));
        }
        m.insert("reqSize".into(), json!(self.total(|t| &t.req_size)));
        m.insert("respSize".into(), json!(self.total(|t| &t.resp_size)));
        if self.with_codes {
            let mut c = Map::new();
            let counts = self.totals(CODES, |t| t.codes.as_deref());
            for (code, n) in counts.into_iter().enumerate() {
                if n > 0 {
                    c.insert(code.to_string(), json!(n));
                }
            }
            m.insert("codes".into(), Value::Object(c));
        }
        m
    }
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// Server-wide statistics kept across generations.
pub(crate) struct SharedStats {
    /// All requests.
    pub server: Arc<RequestStats>,
    /// Per path pattern (the status's `topN`).
    pub paths: Mutex<BTreeMap<String, Arc<RequestStats>>>,
}

impl SharedStats {
    /// Empty statistics.
    pub fn new() -> SharedStats {
        SharedStats {
            server: RequestStats::ticked(true),
            paths: Default::default(),
        }
    }

    /// The statistics of one route pattern (path, or gRPC method pattern).
    pub fn path(&self, pattern: &str) -> Arc<RequestStats> {
        self.paths
            .lock()
            .entry(pattern.to_string())
            .or_insert_with(|| RequestStats::ticked(false))
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_follow_ticks_not_reads() {
        let s = RequestStats::new(false);
        // 50 requests in a 5 s tick, 10 of them errors: 10/s and 2/s.
        for i in 0..50 {
            s.record(
                if i < 10 { 503 } else { 200 },
                Duration::from_millis(1),
                0,
                0,
            );
        }
        assert_eq!(s.to_json()["m1"], 0.0, "no tick yet");
        s.tick();
        for _ in 0..5 {
            // Reading does not move the rates, however often it happens.
            let j = s.to_json();
            assert_eq!(j["m1"], 10.0);
            assert_eq!(j["m5"], 10.0);
            assert_eq!(j["m15"], 10.0);
            assert_eq!(j["m1Err"], 2.0);
            assert_eq!(j["m1ErrPercent"], 20.0);
        }
        // A steady 10/s keeps the rate at 10/s.
        for _ in 0..12 {
            for _ in 0..50 {
                s.record(200, Duration::from_millis(1), 0, 0);
            }
            s.tick();
        }
        assert_eq!(s.to_json()["m1"], 10.0);
        // A silent tick decays m1 by exp(-5/60) and m15 by exp(-5/900).
        s.tick();
        let j = s.to_json();
        let m1 = j["m1"].as_f64().unwrap();
        let m15 = j["m15"].as_f64().unwrap();
        assert!(
            (m1 - 10.0 * (-5.0f64 / 60.0).exp()).abs() < 0.001,
            "m1 {m1}"
        );
        assert!(
            (m15 - 10.0 * (-5.0f64 / 900.0).exp()).abs() < 0.001,
            "m15 {m15}"
        );
    }

    #[test]
    fn the_ticker_drops_statistics_that_are_gone() {
        let s = RequestStats::ticked(false);
        let weak = Arc::downgrade(&s);
        tick_all();
        assert!(weak.upgrade().is_some(), "still held by its owner");
        drop(s);
        tick_all();
        assert!(weak.upgrade().is_none());
        assert!(!TICKED
            .lock()
            .iter()
            .any(|a| std::ptr::eq(Arc::as_ptr(a), weak.as_ptr())));
    }

    #[test]
    fn rates_start_at_the_first_tick_after_the_first_request() {
        let s = RequestStats::new(false);
        // Ticks before any request leave the rates unstarted...
        s.tick();
        s.tick();
        for _ in 0..50 {
            s.record(200, Duration::from_millis(1), 0, 0);
        }
        // ...so the first tick after requests sets them to the tick's rate, 50 in 5 s.
        s.tick();
        let j = s.to_json();
        assert_eq!(j["m1"], 10.0);
        assert_eq!(j["m15"], 10.0);
        s.tick();
        let m1 = s.to_json()["m1"].as_f64().unwrap_or_default();
        assert!(
            (m1 - 10.0 * (-5.0f64 / 60.0).exp()).abs() < 0.001,
            "an idle tick decays it: m1 {m1}"
        );
    }

    #[test]
    fn counts_codes_and_percentiles() {
        let s = RequestStats::new(true);
        for i in 0..100u64 {
            let status = if i < 10 { 500 } else { 200 };
            s.record(status, Duration::from_millis(i + 1), 10, 20);
        }
        let j = s.to_json();
        assert_eq!(j["count"], 100);
        assert_eq!(j["errCount"], 10);
        assert_eq!(j["codes"]["200"], 90);
        assert_eq!(j["codes"]["500"], 10);
        assert_eq!(j["reqSize"], 1000);
        assert_eq!(j["respSize"], 2000);
        assert_eq!(j["min"], 1);
        assert_eq!(j["max"], 100);
        let p50 = j["p50"].as_f64().unwrap();
        assert!((50.0..=61.0).contains(&p50), "p50 {p50}");
        let p99 = j["p99"].as_f64().unwrap();
        assert!((99.0..=121.0).contains(&p99), "p99 {p99}");
    }

    #[test]
    fn requests_recorded_on_many_threads_add_up() {
        let s = RequestStats::new(true);
        std::thread::scope(|scope| {
            for t in 0..12u64 {
                let s = &s;
                scope.spawn(move || {
                    for i in 0..100u64 {
                        let status = if i < 10 { 502 } else { 200 };
                        s.record(status, Duration::from_millis(t * 100 + i + 1), 1, 2);
                    }
                });
            }
        });
        s.tick();
        let j = s.to_json();
        assert_eq!(j["count"], 1200);
        assert_eq!(j["errCount"], 120);
        assert_eq!(j["codes"]["200"], 1080);
        assert_eq!(j["codes"]["502"], 120);
        assert_eq!(j["reqSize"], 1200);
        assert_eq!(j["respSize"], 2400);
        assert_eq!(j["min"], 1);
        assert_eq!(j["max"], 1200);
        assert_eq!(j["m1"], 240.0, "1200 requests in the first 5 s tick");
        // The next tick sees only what came after this one.
        s.record(200, Duration::from_millis(1), 0, 0);
        s.tick();
        let m1 = s.to_json()["m1"].as_f64().unwrap();
        assert!(m1 < 240.0 && m1 > 0.2, "m1 {m1}");
    }

    #[test]
    fn a_duration_falls_in_the_first_bucket_bounding_it() {
        assert_eq!(bucket_of(0), 0);
        assert_eq!(bucket_of(20), 0);
        assert_eq!(bucket_of(21), 1);
        assert_eq!(bucket_of(24), 1);
        assert_eq!(bucket_of(25), 2);
        assert_eq!(bucket_of(u64::MAX), BUCKETS - 1);
        for us in (0..2_000_000u64).step_by(997) {
            let i = bucket_of(us);
            assert!(
                us as f64 <= bound_ms(i) * 1000.0 * (1.0 + 1e-12),
                "{us} in {i}"
            );
            assert!(
                i == 0 || us as f64 > bound_ms(i - 1) * 1000.0,
                "{us} in {i}"
            );
        }
    }

    #[test]
    fn min_and_max_follow_any_order() {
        let s = RequestStats::new(false);
        for ms in [40, 7, 90, 3, 55, 120, 3, 8] {
            s.record(200, Duration::from_millis(ms), 0, 0);
        }
        let j = s.to_json();
        assert_eq!(j["min"], 3);
        assert_eq!(j["max"], 120);
    }
}
