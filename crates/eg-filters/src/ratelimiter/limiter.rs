//! Easegress's cycle-based permit limiter.
//!
//! Time is cut into cycles of `limitRefreshPeriod` counted from the limiter's creation;
//! each cycle brings `limitForPeriod` permits. A request takes a permit of the current
//! cycle if one is left. Otherwise it may *reserve* a permit of a coming cycle, as long as
//! that cycle starts within `timeoutDuration`: it is then let through after waiting for
//! the start of that cycle. At most `limitForPeriod × (timeoutDuration / limitRefreshPeriod
//! + 1)` permits are out from the current cycle on; beyond that requests are rejected.
//!
//! Unused permits do not carry over: a quiet cycle does not allow a burst in the next.
//! Time is passed in (`now`) so that the arithmetic is tested without sleeping.

use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// A compiled policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimiterPolicy {
    /// How long a request may wait for a permit of a coming cycle.
    pub timeout: Duration,
    /// Cycle length; never zero.
    pub period: Duration,
    /// Permits per cycle; at least 1.
    pub limit: u64,
}

/// What [`Limiter::acquire`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Go on now.
    Permitted,
    /// Go on after waiting this long (a permit of a coming cycle).
    Wait(Duration),
    /// No permit within `timeoutDuration`.
    Rejected,
}

#[derive(Debug)]
struct Window {
    /// The cycle `tokens` counts from.
    cycle: u64,
    /// Permits handed out from the start of `cycle` on (including reservations).
    tokens: u64,
}

/// One limiter (one per `urls` rule).
#[derive(Debug)]
pub struct Limiter {
    policy: LimiterPolicy,
    start: Instant,
    /// The policy's figures as [`Limiter::acquire`] uses them, worked out once: a division
    /// of 128-bit integers is a library call of some hundred instructions, and nanoseconds
    /// in 64 bits last 584 years.
    period_nanos: u64,
    limit: u64,
    max_tokens: u64,
    window: Mutex<Window>,
}

/// `d` in nanoseconds, at most `u64::MAX` (584 years).
fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl Limiter {
    /// A limiter whose first cycle starts at `now`.
    pub fn new(policy: LimiterPolicy, now: Instant) -> Limiter {
        let period_nanos = nanos(policy.period).max(1);
        let limit = policy.limit.max(1);
        Limiter {
            policy,
            start: now,
            period_nanos,
            limit,
            max_tokens: limit.saturating_mul(nanos(policy.timeout) / period_nanos + 1),
            window: Mutex::new(Window {
                cycle: 0,
                tokens: 0,
            }),
        }
    }

    /// The policy.
    pub fn policy(&self) -> &LimiterPolicy {
        &self.policy
    }

    /// Takes one permit at `now`.
    pub fn acquire(&self, now: Instant) -> Decision {
        let (period, limit) = (self.period_nanos, self.limit);
        let elapsed = nanos(now.saturating_duration_since(self.start));
        let cycle = elapsed / period;

        let mut w = self.window.lock();
        // Permits already out from the start of the current cycle on.
        let passed = cycle.saturating_sub(w.cycle);
        let tokens = w.tokens.saturating_sub(passed.saturating_mul(limit));
        if tokens >= self.max_tokens {
            return Decision::Rejected;
        }
        w.tokens = tokens.saturating_add(1);
        w.cycle = cycle;
        if tokens < limit {
            return Decision::Permitted;
        }
        // A permit of cycle `cycle + tokens / limit`: wait for its start.
        let target = cycle.saturating_add(tokens / limit).saturating_mul(period);
        Decision::Wait(Duration::from_nanos(target.saturating_sub(elapsed)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn limiter(timeout: u64, period: u64, limit: u64, t0: Instant) -> Limiter {
        Limiter::new(
            LimiterPolicy {
                timeout: ms(timeout),
                period: ms(period),
                limit,
            },
            t0,
        )
    }

    #[test]
    fn limit_per_cycle_then_rejected_with_a_short_timeout() {
        let t0 = Instant::now();
        let l = limiter(10, 60_000, 3, t0);
        let got: Vec<Decision> = (0..5).map(|_| l.acquire(t0 + ms(1))).collect();
        use Decision::*;
        assert_eq!(got, [Permitted, Permitted, Permitted, Rejected, Rejected]);
        // The next cycle brings new permits.
        assert_eq!(l.acquire(t0 + ms(60_000)), Permitted);
    }

    #[test]
    fn permits_of_coming_cycles_are_reserved_within_the_timeout() {
        let t0 = Instant::now();
        // 2 per 100ms, wait up to 250ms: 2 × (2 + 1) = 6 permits out at most.
        let l = limiter(250, 100, 2, t0);
        let now = t0 + ms(30);
        let got: Vec<Decision> = (0..7).map(|_| l.acquire(now)).collect();
        use Decision::*;
        assert_eq!(
            got,
            [
                Permitted,
                Permitted,
                Wait(ms(70)),
                Wait(ms(70)),
                Wait(ms(170)),
                Wait(ms(170)),
                Rejected
            ]
        );
        // One cycle later two permits are used up by the reservations; the next request
        // reserves a permit of cycle 3.
        assert_eq!(l.acquire(t0 + ms(100)), Wait(ms(200)));
    }

    #[test]
    fn unused_permits_do_not_carry_over() {
        let t0 = Instant::now();
        let l = limiter(0, 1000, 2, t0);
        use Decision::*;
        // Cycles 0-4 quiet; cycle 5 still allows only 2.
        let now = t0 + ms(5500);
        assert_eq!(
            [l.acquire(now), l.acquire(now), l.acquire(now)],
            [Permitted, Permitted, Rejected]
        );
    }

    #[test]
    fn cycles_are_aligned_to_the_creation_time() {
        let t0 = Instant::now();
        let l = limiter(0, 1000, 1, t0);
        assert_eq!(l.acquire(t0 + ms(900)), Decision::Permitted);
        // 200ms later but in the next cycle: a new permit.
        assert_eq!(l.acquire(t0 + ms(1100)), Decision::Permitted);
        assert_eq!(l.acquire(t0 + ms(1999)), Decision::Rejected);
    }

    #[test]
    fn periods_and_timeouts_beyond_64_bit_nanoseconds_saturate() {
        let t0 = Instant::now();
        let ages = Duration::from_secs(1000 * 365 * 24 * 3600);
        let policy = |timeout, period| LimiterPolicy {
            timeout,
            period,
            limit: 1,
        };
        // A cycle longer than 584 years: one permit, then none.
        let l = Limiter::new(policy(Duration::ZERO, ages), t0);
        assert_eq!(l.acquire(t0 + ms(1)), Decision::Permitted);
        assert_eq!(l.acquire(t0 + ms(2)), Decision::Rejected);
        // A timeout as long: the next permits are reserved in the coming cycles.
        let l = Limiter::new(policy(ages, ms(10)), t0);
        assert_eq!(l.acquire(t0), Decision::Permitted);
        assert_eq!(l.acquire(t0), Decision::Wait(ms(10)));
        assert_eq!(l.acquire(t0), Decision::Wait(ms(20)));
    }
}
