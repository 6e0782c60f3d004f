//! A circuit breaker with resilience4j's (and Easegress's) semantics.
//!
//! The breaker is `Closed` at first: every call is let through and its outcome (success,
//! slow, failure) is pushed into a sliding window — the last `slidingWindowSize` calls
//! (`COUNT_BASED`) or the calls of the last `slidingWindowSize` seconds (`TIME_BASED`).
//! Once the window holds at least `minimumNumberOfCalls` outcomes, a failure rate at or above
//! `failureRateThreshold` (or a slow-call rate at or above `slowCallRateThreshold`) opens
//! the breaker. `Open` rejects every call until `waitDurationInOpenState` has passed; the
//! next call then moves it to `HalfOpen`, which lets `permittedNumberOfCallsInHalfOpenState`
//! calls through and judges them alone (in a count window of that size): rates below the
//! thresholds close the breaker, otherwise it opens again. With
//! `maxWaitDurationInHalfOpenState` > 0, a half-open breaker whose probes have not all
//! answered within that time opens again.
//!
//! Each state change bumps a state id; an outcome recorded with the id of an older state
//! (a call let through before the change) is discarded. A call that ends without an
//! outcome (the client went away) gives its half-open slot back, so a breaker can never be
//! stuck waiting for answers that will not come.
//!
//! Time is passed in (`now`) so that the state machine is tested without sleeping.

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// One second, the bucket width of a time-based window.
const SECOND: Duration = Duration::from_secs(1);

/// A compiled `CircuitBreaker` policy (see `policy.rs` for defaults and checks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakerPolicy {
    /// Failure rate (percent) at or above which the breaker opens.
    pub failure_rate_threshold: u8,
    /// Slow-call rate (percent) at or above which the breaker opens.
    pub slow_call_rate_threshold: u8,
    /// `TIME_BASED` (window of seconds) instead of `COUNT_BASED` (window of calls).
    pub time_based: bool,
    /// Calls (count based) or seconds (time based) in the window; at least 1.
    pub sliding_window_size: u32,
    /// Calls let through while half open; at least 1.
    pub permitted_calls_in_half_open: u32,
    /// Outcomes needed before rates are judged (capped by the half-open calls there).
    pub minimum_number_of_calls: u32,
    /// Calls lasting at least this long are slow.
    pub slow_call_duration_threshold: Duration,
    /// Half open for longer than this (with all probes used) opens again; zero = no limit.
    pub max_wait_in_half_open: Duration,
    /// Time spent open before probing.
    pub wait_in_open: Duration,
}

/// Breaker states (Easegress's names, used in the status).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Calls pass; outcomes are counted.
    Closed,
    /// A few probe calls pass.
    HalfOpen,
    /// Calls are rejected.
    Open,
}

impl State {
    /// The name shown in the status.
    pub fn name(self) -> &'static str {
        match self {
            State::Closed => "Closed",
            State::HalfOpen => "HalfOpen",
            State::Open => "Open",
        }
    }
}

/// The outcome of one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Success,
    Slow,
    Failure,
}

/// Running totals of a window.
#[derive(Debug, Clone, Copy, Default)]
struct Totals {
    total: u32,
    slow: u32,
    failure: u32,
}

impl Totals {
    fn add(&mut self, o: Outcome) {
        self.total += 1;
        match o {
            Outcome::Slow => self.slow += 1,
            Outcome::Failure => self.failure += 1,
            Outcome::Success => {}
        }
    }

    fn remove(&mut self, o: Outcome) {
        self.total = self.total.saturating_sub(1);
        match o {
            Outcome::Slow => self.slow = self.slow.saturating_sub(1),
            Outcome::Failure => self.failure = self.failure.saturating_sub(1),
            Outcome::Success => {}
        }
    }

    fn subtract(&mut self, b: &Totals) {
        self.total = self.total.saturating_sub(b.total);
        self.slow = self.slow.saturating_sub(b.slow);
        self.failure = self.failure.saturating_sub(b.failure);
    }

    /// Percent of failures, rounded down (0 for an empty window).
    fn failure_rate(&self) -> u32 {
        (self.failure * 100).checked_div(self.total).unwrap_or(0)
    }

    /// Percent of slow calls, rounded down.
    fn slow_rate(&self) -> u32 {
        (self.slow * 100).checked_div(self.total).unwrap_or(0)
    }
}

/// The last N outcomes, in a ring.
#[derive(Debug, Clone)]
struct CountWindow {
    totals: Totals,
    next: usize,
    ring: Box<[Option<Outcome>]>,
}

impl CountWindow {
    fn new(size: u32) -> CountWindow {
        CountWindow {
            totals: Totals::default(),
            next: 0,
            ring: vec![None; size.max(1) as usize].into_boxed_slice(),
        }
    }

    fn push(&mut self, o: Outcome) {
        if let Some(old) = self.ring[self.next].replace(o) {
            self.totals.remove(old);
        }
        self.totals.add(o);
        self.next = (self.next + 1) % self.ring.len();
    }
}

/// The outcomes of the last N seconds, one bucket per second.
#[derive(Debug, Clone)]
struct TimeWindow {
    totals: Totals,
    /// Start of the bucket at `first`.
    begin: Instant,
    first: usize,
    buckets: Box<[Totals]>,
}

impl TimeWindow {
    fn new(size: u32, now: Instant) -> TimeWindow {
        TimeWindow {
            totals: Totals::default(),
            begin: now,
            first: 0,
            buckets: vec![Totals::default(); size.max(1) as usize].into_boxed_slice(),
        }
    }

    /// Drops the buckets that fell out of the window at `now`.
    fn evict(&mut self, now: Instant) {
        let len = self.buckets.len() as u64;
        let seconds = now.saturating_duration_since(self.begin).as_secs();
        if seconds < len {
            return;
        }
        let evicts = seconds - len + 1;
        self.begin += SECOND * u32::try_from(evicts).unwrap_or(u32::MAX);
        for _ in 0..evicts.min(len) {
            let b = std::mem::take(&mut self.buckets[self.first]);
            self.totals.subtract(&b);
            self.first = (self.first + 1) % self.buckets.len();
        }
    }

    fn push(&mut self, o: Outcome, now: Instant) {
        self.evict(now);
        let offset = now.saturating_duration_since(self.begin).as_secs() as usize;
        let idx = (self.first + offset) % self.buckets.len();
        self.buckets[idx].add(o);
        self.totals.add(o);
    }
}

#[derive(Debug, Clone)]
enum Window {
    Count(CountWindow),
    Time(TimeWindow),
}

impl Window {
    fn push(&mut self, o: Outcome, now: Instant) {
        match self {
            Window::Count(w) => w.push(o),
            Window::Time(w) => w.push(o, now),
        }
    }

    fn totals(&self) -> &Totals {
        match self {
            Window::Count(w) => &w.totals,
            Window::Time(w) => &w.totals,
        }
    }
}

#[derive(Debug)]
struct Inner {
    state: State,
    since: Instant,
    window: Window,
    half_open_calls: u32,
    state_id: u32,
}

/// A circuit breaker shared by every request of a pool (and inherited by the next
/// generation of the pipeline while its policy stays the same).
#[derive(Debug)]
pub struct CircuitBreaker {
    policy: BreakerPolicy,
    /// Used in log lines.
    name: String,
    inner: Mutex<Inner>,
}

/// A permitted call: the state it was let through in and when it started.
#[derive(Debug, Clone, Copy)]
pub struct Permit {
    state_id: u32,
    start: Instant,
}

impl CircuitBreaker {
    /// A closed breaker for the pool called `name`.
    pub fn new(policy: BreakerPolicy, name: String, now: Instant) -> CircuitBreaker {
        let window = closed_window(&policy, now);
        CircuitBreaker {
            policy,
            name,
            inner: Mutex::new(Inner {
                state: State::Closed,
                since: now,
                window,
                half_open_calls: 0,
                state_id: 0,
            }),
        }
    }

    /// The policy.
    pub fn policy(&self) -> &BreakerPolicy {
        &self.policy
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.inner.lock().state
    }

    /// Asks to make a call at `now`: `None` when the breaker rejects it.
    pub fn acquire(&self, now: Instant) -> Option<Permit> {
        let mut g = self.inner.lock();
        let permit = Permit {
            state_id: g.state_id,
            start: now,
        };
        match g.state {
            State::Closed => return Some(permit),
            State::Open => {
                if now.saturating_duration_since(g.since) < self.policy.wait_in_open {
                    return None;
                }
                self.transit(
                    &mut g,
                    State::HalfOpen,
                    now,
                    "wait duration in open state elapsed",
                );
            }
            State::HalfOpen => {}
        }
        if g.half_open_calls < self.policy.permitted_calls_in_half_open {
            g.half_open_calls += 1;
            return Some(Permit {
                state_id: g.state_id,
                start: now,
            });
        }
        // All probes are out: give up on them after the maximum wait (checked only now,
        // so that the permitted probes always get their chance first).
        let max = self.policy.max_wait_in_half_open;
        if !max.is_zero() && now.saturating_duration_since(g.since) > max {
            self.transit(
                &mut g,
                State::Open,
                now,
                "max wait duration in half open state elapsed",
            );
        }
        None
    }

    /// Records the outcome of a permitted call that ended at `now`.
    pub fn record(&self, permit: Permit, failed: bool, now: Instant) {
        let outcome = if failed {
            Outcome::Failure
        } else if now.saturating_duration_since(permit.start)
            >= self.policy.slow_call_duration_threshold
        {
            Outcome::Slow
        } else {
            Outcome::Success
        };
        let mut g = self.inner.lock();
        if permit.state_id != g.state_id {
            return; // let through in an earlier state
        }
        g.window.push(outcome, now);
        let mut min = self.policy.minimum_number_of_calls;
        if g.state == State::HalfOpen {
            min = min.min(self.policy.permitted_calls_in_half_open);
        }
        let totals = *g.window.totals();
        if totals.total < min {
            return;
        }
        let failure_rate = totals.failure_rate();
        let slow_rate = totals.slow_rate();
        if failure_rate >= u32::from(self.policy.failure_rate_threshold) {
            let why = format!("high failure rate: {failure_rate}");
            self.transit(&mut g, State::Open, now, &why);
        } else if slow_rate >= u32::from(self.policy.slow_call_rate_threshold) {
            let why = format!("high slow call rate: {slow_rate}");
            self.transit(&mut g, State::Open, now, &why);
        } else if g.state == State::HalfOpen {
            self.transit(&mut g, State::Closed, now, "recovery");
        }
    }

    /// Gives back a permit whose call ended without an outcome (the client went away).
    pub fn release(&self, permit: Permit) {
        let mut g = self.inner.lock();
        if permit.state_id == g.state_id && g.state == State::HalfOpen {
            g.half_open_calls = g.half_open_calls.saturating_sub(1);
        }
    }

    fn transit(&self, g: &mut Inner, to: State, now: Instant, why: &str) {
        if g.state == to {
            return;
        }
        tracing::info!(
            pool = %self.name,
            from = g.state.name(),
            to = to.name(),
            reason = why,
            "circuit breaker state changed"
        );
        g.state = to;
        g.since = now;
        g.state_id = g.state_id.wrapping_add(1);
        match to {
            // A fresh window, so that old outcomes do not flip the state straight back.
            State::Closed => g.window = closed_window(&self.policy, now),
            // Probes are judged alone, in a count window that nothing evicts.
            State::HalfOpen => {
                g.window =
                    Window::Count(CountWindow::new(self.policy.permitted_calls_in_half_open));
                g.half_open_calls = 0;
            }
            State::Open => {}
        }
    }
}

fn closed_window(p: &BreakerPolicy, now: Instant) -> Window {
    if p.time_based {
        Window::Time(TimeWindow::new(p.sliding_window_size, now))
    } else {
        Window::Count(CountWindow::new(p.sliding_window_size))
    }
}

/// A call let through by a circuit breaker. Recording consumes it; dropping it unrecorded
/// (client gone, request cancelled) gives its half-open slot back.
pub struct BreakerCall {
    breaker: Arc<CircuitBreaker>,
    permit: Option<Permit>,
}

impl BreakerCall {
    /// Asks `breaker` for a call now: `None` when it rejects it.
    pub fn acquire(breaker: Arc<CircuitBreaker>) -> Option<BreakerCall> {
        let permit = breaker.acquire(Instant::now())?;
        Some(BreakerCall {
            breaker,
            permit: Some(permit),
        })
    }

    /// Records the call's outcome.
    pub fn record(mut self, failed: bool) {
        if let Some(p) = self.permit.take() {
            self.breaker.record(p, failed, Instant::now());
        }
    }
}

impl Drop for BreakerCall {
    fn drop(&mut self) {
        if let Some(p) = self.permit.take() {
            self.breaker.release(p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> BreakerPolicy {
        BreakerPolicy {
            failure_rate_threshold: 50,
            slow_call_rate_threshold: 100,
            time_based: false,
            sliding_window_size: 4,
            permitted_calls_in_half_open: 2,
            minimum_number_of_calls: 4,
            slow_call_duration_threshold: Duration::from_secs(60),
            max_wait_in_half_open: Duration::ZERO,
            wait_in_open: Duration::from_secs(10),
        }
    }

    fn call(cb: &CircuitBreaker, failed: bool, now: Instant) -> bool {
        match cb.acquire(now) {
            Some(p) => {
                cb.record(p, failed, now);
                true
            }
            None => false,
        }
    }

    fn s(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn opens_at_the_failure_rate_once_enough_calls_were_seen() {
        let t0 = Instant::now();
        let cb = CircuitBreaker::new(policy(), "p".into(), t0);
        // Three failures: below minimumNumberOfCalls, still closed.
        for _ in 0..3 {
            assert!(call(&cb, true, t0));
        }
        assert_eq!(cb.state(), State::Closed);
        // The fourth call (a success) makes 3/4 = 75% >= 50%: open.
        assert!(call(&cb, false, t0));
        assert_eq!(cb.state(), State::Open);
        assert!(cb.acquire(t0 + s(9)).is_none());
    }

    #[test]
    fn rate_below_threshold_stays_closed_and_old_outcomes_slide_out() {
        let t0 = Instant::now();
        let cb = CircuitBreaker::new(policy(), "p".into(), t0);
        // 1 failure of 4 = 25%.
        for f in [true, false, false, false] {
            call(&cb, f, t0);
        }
        assert_eq!(cb.state(), State::Closed);
        // Window of 4: the failure slides out, then two failures make 2/4 = 50%.
        call(&cb, false, t0);
        assert_eq!(cb.state(), State::Closed);
        call(&cb, true, t0);
        assert_eq!(cb.state(), State::Closed);
        call(&cb, true, t0);
        assert_eq!(cb.state(), State::Open);
    }

    #[test]
    fn half_open_probes_close_or_reopen() {
        let t0 = Instant::now();
        let cb = CircuitBreaker::new(policy(), "p".into(), t0);
        for _ in 0..4 {
            call(&cb, true, t0);
        }
        assert_eq!(cb.state(), State::Open);
        // After waitDurationInOpenState the next call is a probe.
        let t1 = t0 + s(10);
        let p1 = cb.acquire(t1).expect("first probe");
        assert_eq!(cb.state(), State::HalfOpen);
        let p2 = cb.acquire(t1).expect("second probe");
        assert!(cb.acquire(t1).is_none(), "only 2 probes");
        cb.record(p1, false, t1);
        assert_eq!(cb.state(), State::HalfOpen, "min calls capped at 2");
        cb.record(p2, false, t1);
        assert_eq!(cb.state(), State::Closed);

        // Open again, and this time a probe fails: back to open.
        for _ in 0..4 {
            call(&cb, true, t1);
        }
        assert_eq!(cb.state(), State::Open);
        let t2 = t1 + s(10);
        let p1 = cb.acquire(t2).unwrap();
        let p2 = cb.acquire(t2).unwrap();
        cb.record(p1, true, t2);
        cb.record(p2, false, t2);
        assert_eq!(cb.state(), State::Open, "1/2 = 50% failures");
        assert!(cb.acquire(t2 + s(9)).is_none());
    }

    #[test]
    fn outcomes_of_an_older_state_are_discarded() {
        let t0 = Instant::now();
        let cb = CircuitBreaker::new(policy(), "p".into(), t0);
        let late = cb.acquire(t0).unwrap();
        for _ in 0..4 {
            call(&cb, true, t0);
        }
        assert_eq!(cb.state(), State::Open);
        let t1 = t0 + s(10);
        let probe = cb.acquire(t1).unwrap();
        // A failure let through while closed does not count against the probes.
        cb.record(late, true, t1);
        cb.record(probe, false, t1);
        let probe = cb.acquire(t1).unwrap();
        cb.record(probe, false, t1);
        assert_eq!(cb.state(), State::Closed);
    }

    #[test]
    fn slow_calls_open_at_the_slow_rate() {
        let t0 = Instant::now();
        let mut p = policy();
        p.slow_call_rate_threshold = 50;
        p.slow_call_duration_threshold = s(2);
        let cb = CircuitBreaker::new(p, "p".into(), t0);
        for slow in [true, false, true, false] {
            let permit = cb.acquire(t0).unwrap();
            let end = if slow { t0 + s(2) } else { t0 + s(1) };
            cb.record(permit, false, end);
        }
        assert_eq!(cb.state(), State::Open);
    }

    #[test]
    fn max_wait_in_half_open_reopens_when_probes_do_not_answer() {
        let t0 = Instant::now();
        let mut p = policy();
        p.max_wait_in_half_open = s(5);
        let cb = CircuitBreaker::new(p, "p".into(), t0);
        for _ in 0..4 {
            call(&cb, true, t0);
        }
        let t1 = t0 + s(10);
        let _hung1 = cb.acquire(t1).unwrap();
        let _hung2 = cb.acquire(t1).unwrap();
        assert!(cb.acquire(t1 + s(5)).is_none());
        assert_eq!(cb.state(), State::HalfOpen, "not past the max wait yet");
        assert!(cb.acquire(t1 + s(6)).is_none());
        assert_eq!(cb.state(), State::Open);
    }

    #[test]
    fn released_permits_free_their_half_open_slot() {
        let t0 = Instant::now();
        let cb = CircuitBreaker::new(policy(), "p".into(), t0);
        for _ in 0..4 {
            call(&cb, true, t0);
        }
        let t1 = t0 + s(10);
        let gone = cb.acquire(t1).unwrap();
        let p2 = cb.acquire(t1).unwrap();
        assert!(cb.acquire(t1).is_none());
        cb.release(gone);
        let p3 = cb.acquire(t1).expect("slot given back");
        cb.record(p2, false, t1);
        cb.record(p3, false, t1);
        assert_eq!(cb.state(), State::Closed);
    }

    #[test]
    fn time_based_window_forgets_old_seconds() {
        let t0 = Instant::now();
        let mut p = policy();
        p.time_based = true;
        p.sliding_window_size = 2; // seconds
        p.minimum_number_of_calls = 2;
        let cb = CircuitBreaker::new(p, "p".into(), t0);
        // One failure at t0, then a success two seconds later: the failure has left the
        // window, so the rate is 0/1 and below the minimum anyway.
        call(&cb, true, t0);
        call(&cb, false, t0 + s(2));
        assert_eq!(cb.state(), State::Closed);
        // A failure in the same window as the success: 1/2 = 50%.
        call(&cb, true, t0 + s(3));
        assert_eq!(cb.state(), State::Open);
    }

    #[test]
    fn time_based_window_counts_calls_within_the_window() {
        let t0 = Instant::now();
        let mut p = policy();
        p.time_based = true;
        p.sliding_window_size = 10;
        p.minimum_number_of_calls = 3;
        let cb = CircuitBreaker::new(p, "p".into(), t0);
        call(&cb, true, t0);
        call(&cb, false, t0 + s(4));
        assert_eq!(cb.state(), State::Closed);
        call(&cb, true, t0 + s(9));
        assert_eq!(cb.state(), State::Open, "2/3 within 10 seconds");
    }
}
