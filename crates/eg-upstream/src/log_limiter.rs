//! A pace for repeated log lines.

use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// Lets through at most one log line per period, counting the ones it holds back (so a
/// broken upstream under load does not flood the log).
#[derive(Debug, Default)]
pub struct LogLimiter {
    /// When the last line went out, and how many were held back since.
    state: Mutex<(Option<Instant>, u64)>,
}

impl LogLimiter {
    /// Whether to log at `now`: `Some(n)` with the `n` lines held back since the last one,
    /// `None` within `every` of the last one.
    pub fn allow(&self, now: Instant, every: Duration) -> Option<u64> {
        let mut s = self.state.lock();
        match s.0 {
            Some(last) if now.saturating_duration_since(last) < every => {
                s.1 += 1;
                None
            }
            _ => {
                s.0 = Some(now);
                Some(std::mem::take(&mut s.1))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limiter_lets_one_line_through_per_period() {
        let l = LogLimiter::default();
        let t0 = Instant::now();
        let every = Duration::from_secs(10);
        assert_eq!(l.allow(t0, every), Some(0));
        assert_eq!(l.allow(t0 + Duration::from_secs(1), every), None);
        assert_eq!(l.allow(t0 + Duration::from_secs(9), every), None);
        assert_eq!(l.allow(t0 + Duration::from_secs(10), every), Some(2));
        assert_eq!(l.allow(t0 + Duration::from_secs(11), every), None);
        assert_eq!(l.allow(t0 + Duration::from_secs(30), every), Some(1));
    }
}
