//! Request statistics for the status object: counts, 1/5/15-minute rates, error rates,
//! latency percentiles, sizes and status codes.
//!
//! The request path only adds to atomics; rates (EWMA, ticked every 5 s as go-metrics
//! does) and percentiles (from a fixed log-scale histogram) are computed when the status is
//! read.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

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
    last: Instant,
    all: [Ewma; 3],
    err: [Ewma; 3],
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
    /// Statistics; `with_codes` also counts each status code.
    pub fn new(with_codes: bool) -> RequestStats {
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
                last: Instant::now(),
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
        self.min_us.fetch_min(us, Relaxed);
        self.max_us.fetch_max(us, Relaxed);
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

    fn tick(&self) -> ([f64; 3], [f64; 3]) {
        let mut r = self.rates.lock();
        let elapsed = r.last.elapsed();
        let ticks = (elapsed.as_nanos() / TICK.as_nanos()) as u64;
        if ticks > 0 {
            let all = self.uncounted.swap(0, Relaxed);
            let err = self.err_uncounted.swap(0, Relaxed);
            for t in 0..ticks.min(1000) {
                let (a, e) = if t == 0 { (all, err) } else { (0, 0) };
                for m in &mut r.all {
                    m.tick(a);
                }
                for m in &mut r.err {
                    m.tick(e);
                }
            }
            r.last += TICK * ticks as u32;
        }
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
        let (all, err) = self.tick();
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
