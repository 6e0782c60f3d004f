//! Request statistics for the status object: counts, 1/5/15-minute rates, error rates,
//! latency percentiles, sizes and status codes.
//!
//! The request path only adds to atomics. Rates are EWMAs ticked every 5 s by one
//! background thread for every live [`RequestStats`], as go-metrics' arbiter does for
//! Easegress, so they follow the traffic whether or not anyone reads them; percentiles (from
//! a fixed log-scale histogram) are computed when the status is read.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, LazyLock, Weak};
use std::time::Duration;

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
}

/// Every ticked statistics object; the ticker drops the ones that are gone.
static TICKED: LazyLock<Mutex<Vec<Weak<RequestStats>>>> = LazyLock::new(|| {
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
    let live: Vec<Arc<RequestStats>> = {
        let mut list = TICKED.lock();
        list.retain(|w| w.strong_count() > 0);
        list.iter().filter_map(Weak::upgrade).collect()
    };
    for s in live {
        s.tick();
    }
}

/// Statistics of a server or of one path.
#[derive(Debug)]
pub(crate) struct RequestStats {
    count: AtomicU64,
    errors: AtomicU64,
    uncounted: AtomicU64,
    err_uncounted: AtomicU64,
    total_us: AtomicU64,
    min_us: AtomicU64,
    max_us: AtomicU64,
    hist: Box<[AtomicU64]>,
    req_size: AtomicU64,
    resp_size: AtomicU64,
    codes: Option<Box<[AtomicU64]>>,
    rates: Mutex<Rates>,
}

fn bucket_of(us: u64) -> usize {
    if us as f64 <= FIRST_BOUND_US {
        return 0;
    }
    let i = ((us as f64 / FIRST_BOUND_US).ln() / GROWTH.ln()).ceil() as usize;
    i.min(BUCKETS - 1)
}

fn bound_ms(i: usize) -> f64 {
    FIRST_BOUND_US * GROWTH.powi(i as i32) / 1000.0
}

impl RequestStats {
    /// Statistics whose rates the background ticker keeps current; `with_codes` also
    /// counts each status code.
    pub fn ticked(with_codes: bool) -> Arc<RequestStats> {
        let s = Arc::new(RequestStats::new(with_codes));
        TICKED.lock().push(Arc::downgrade(&s));
        s
    }

    /// Statistics nobody ticks (tests tick them by hand).
    fn new(with_codes: bool) -> RequestStats {
        RequestStats {
            count: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            uncounted: AtomicU64::new(0),
            err_uncounted: AtomicU64::new(0),
            total_us: AtomicU64::new(0),
            min_us: AtomicU64::new(u64::MAX),
            max_us: AtomicU64::new(0),
            hist: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            req_size: AtomicU64::new(0),
            resp_size: AtomicU64::new(0),
            codes: with_codes.then(|| (0..CODES).map(|_| AtomicU64::new(0)).collect()),
            rates: Mutex::new(Rates {
                all: [Ewma::new(1.0), Ewma::new(5.0), Ewma::new(15.0)],
                err: [Ewma::new(1.0), Ewma::new(5.0), Ewma::new(15.0)],
            }),
        }
    }

    /// Records one finished request.
    pub fn record(&self, status: u16, duration: Duration, req_size: u64, resp_size: u64) {
        let us = duration.as_micros().min(u64::MAX as u128) as u64;
        self.count.fetch_add(1, Relaxed);
        self.uncounted.fetch_add(1, Relaxed);
        if status >= 400 {
            self.errors.fetch_add(1, Relaxed);
            self.err_uncounted.fetch_add(1, Relaxed);
        }
        self.total_us.fetch_add(us, Relaxed);
        // Read first: a new extreme is rare, and `fetch_min`/`fetch_max` are a locked
        // compare-and-swap loop even when they change nothing.
        if us < self.min_us.load(Relaxed) {
            self.min_us.fetch_min(us, Relaxed);
        }
        if us > self.max_us.load(Relaxed) {
            self.max_us.fetch_max(us, Relaxed);
        }
        self.hist[bucket_of(us)].fetch_add(1, Relaxed);
        self.req_size.fetch_add(req_size, Relaxed);
        self.resp_size.fetch_add(resp_size, Relaxed);
        if let Some(codes) = &self.codes {
            if let Some(c) = codes.get(status as usize) {
                c.fetch_add(1, Relaxed);
            }
        }
    }

    /// Total requests recorded.
    pub fn count(&self) -> u64 {
        self.count.load(Relaxed)
    }

    /// One 5-second tick: the requests since the last tick feed the rates.
    fn tick(&self) {
        let all = self.uncounted.swap(0, Relaxed);
        let err = self.err_uncounted.swap(0, Relaxed);
        let mut r = self.rates.lock();
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
        let count = self.count.load(Relaxed);
        let errors = self.errors.load(Relaxed);
        let counts: Vec<u64> = self.hist.iter().map(|c| c.load(Relaxed)).collect();
        let total: u64 = counts.iter().sum();
        let pct = |e: f64, a: f64| if a > 0.0 { round3(e / a * 100.0) } else { 0.0 };
        let min = self.min_us.load(Relaxed);
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
            json!(if min == u64::MAX { 0 } else { min / 1000 }),
        );
        m.insert("max".into(), json!(self.max_us.load(Relaxed) / 1000));
        m.insert(
            "mean".into(),
            json!(self.total_us.load(Relaxed).checked_div(count).unwrap_or(0) / 1000),
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
        m.insert("reqSize".into(), json!(self.req_size.load(Relaxed)));
        m.insert("respSize".into(), json!(self.resp_size.load(Relaxed)));
        if let Some(codes) = &self.codes {
            let mut c = Map::new();
            for (code, n) in codes.iter().enumerate() {
                let n = n.load(Relaxed);
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
        drop(s);
        tick_all();
        assert!(weak.upgrade().is_none());
        assert!(!TICKED.lock().iter().any(|w| w.ptr_eq(&weak)));
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
