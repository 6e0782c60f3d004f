//! The `Retry` and `CircuitBreaker` policy specs: their fields, defaults and rules.
//!
//! A pipeline's `resilience` list is decoded once, here, into typed policies; a field that
//! breaks a rule is reported at its own path (`resilience[0].failureRateThreshold: ...`).
//! The rules are Easegress's JSON-schema rules (`pkg/resilience`): percentages are 1-100
//! (0 is not a percentage it accepts: leave the field out for the default), windows and
//! half-open calls at least 1, durations in Go's format. On top of them, easegress-rs caps
//! window sizes (a window is allocated up front) and refuses a zero slow-call threshold
//! (which would make every call slow).

use std::time::Duration;

use eg_spec::error::join_path;
use eg_spec::{GoDuration, SpecError};
use serde::Deserialize;
use serde_json::Value;

use super::circuitbreaker::BreakerPolicy;

/// Default `maxAttempts`.
const DEFAULT_MAX_ATTEMPTS: u32 = 3;
/// Default `waitDuration`.
const DEFAULT_WAIT: Duration = Duration::from_millis(500);
/// Growth of the wait after each attempt with `backOffPolicy: exponential`.
const EXPONENTIAL_FACTOR: f64 = 1.5;

/// Default `failureRateThreshold` (percent).
const DEFAULT_FAILURE_RATE: u8 = 50;
/// Default `slowCallRateThreshold` (percent): only all-slow windows open the breaker.
const DEFAULT_SLOW_CALL_RATE: u8 = 100;
/// Default `slidingWindowSize` (calls or seconds).
const DEFAULT_WINDOW_SIZE: u32 = 100;
/// Default `permittedNumberOfCallsInHalfOpenState`.
const DEFAULT_HALF_OPEN_CALLS: u32 = 10;
/// Default `minimumNumberOfCalls` (Easegress's code; its docs say 10).
const DEFAULT_MINIMUM_CALLS: u32 = 100;
/// Default `slowCallDurationThreshold`.
const DEFAULT_SLOW_CALL_DURATION: Duration = Duration::from_secs(60);
/// Default `waitDurationInOpenState`.
const DEFAULT_WAIT_IN_OPEN: Duration = Duration::from_secs(60);
/// The largest window and half-open call count accepted: a window is allocated up front
/// (one slot per call or per second), so an absurd size must not eat the memory.
const MAX_WINDOW_SIZE: u32 = 100_000;

/// `Retry` fields; a missing (or null) field takes its default.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RetrySpec {
    /// Total attempts including the first; 0 = default 3.
    #[serde(default)]
    max_attempts: Option<u32>,
    /// Base wait between attempts. Default 500ms.
    #[serde(default)]
    wait_duration: Option<GoDuration>,
    /// `random` (default) or `exponential`, any case.
    #[serde(default)]
    back_off_policy: Option<String>,
    /// 0-1: the wait is drawn uniformly from base·(1±factor). Default 0.
    #[serde(default)]
    randomization_factor: Option<f64>,
}

/// `CircuitBreaker` fields; a missing (or null) field takes its default.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CircuitBreakerSpec {
    #[serde(default)]
    sliding_window_type: Option<String>,
    #[serde(default)]
    failure_rate_threshold: Option<u8>,
    #[serde(default)]
    slow_call_rate_threshold: Option<u8>,
    #[serde(default)]
    slow_call_duration_threshold: Option<GoDuration>,
    #[serde(default)]
    sliding_window_size: Option<u32>,
    #[serde(default)]
    permitted_number_of_calls_in_half_open_state: Option<u32>,
    #[serde(default)]
    minimum_number_of_calls: Option<u32>,
    #[serde(default)]
    max_wait_duration_in_half_open_state: Option<GoDuration>,
    #[serde(default)]
    wait_duration_in_open_state: Option<GoDuration>,
}

/// A compiled `Retry` policy.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Total attempts including the first.
    pub max_attempts: u32,
    wait: Duration,
    exponential: bool,
    randomization: f64,
}

impl RetryPolicy {
    /// The wait after `done` attempts (1-based count of attempts already made).
    pub fn wait_before(&self, done: u32) -> Duration {
        let mut base = self.wait.as_secs_f64();
        if self.exponential {
            base *= EXPONENTIAL_FACTOR.powi(done.saturating_sub(1) as i32);
        }
        if self.randomization > 0.0 {
            let f = self.randomization;
            let lo = base * (1.0 - f);
            let hi = base * (1.0 + f);
            base = lo + rand::random::<f64>() * (hi - lo);
        }
        Duration::from_secs_f64(base.max(0.0))
    }

    /// Decodes and checks the `Retry` policy document at `at` (e.g. `resilience[0]`).
    pub(super) fn decode(doc: &Value, at: &str) -> Result<(RetryPolicy, Vec<String>), SpecError> {
        let (s, warnings) = eg_spec::decode_kind::<RetrySpec>(doc, at)?.into_parts();
        let exponential = one_of(
            s.back_off_policy.as_deref(),
            &["random", "exponential"],
            &join_path(at, "backOffPolicy"),
        )? == Some(1);
        let randomization = s.randomization_factor.unwrap_or(0.0);
        if !(0.0..=1.0).contains(&randomization) {
            return Err(SpecError::new(
                join_path(at, "randomizationFactor"),
                format!("{randomization} is out of range 0..1"),
            ));
        }
        let policy = RetryPolicy {
            max_attempts: match s.max_attempts {
                None | Some(0) => DEFAULT_MAX_ATTEMPTS,
                Some(n) => n,
            },
            wait: s.wait_duration.map_or(DEFAULT_WAIT, GoDuration::get),
            exponential,
            randomization,
        };
        Ok((policy, warnings))
    }
}

/// Decodes and checks the `CircuitBreaker` policy document at `at` (e.g. `resilience[1]`).
pub(super) fn decode_circuit_breaker(
    doc: &Value,
    at: &str,
) -> Result<(BreakerPolicy, Vec<String>), SpecError> {
    let (s, warnings) = eg_spec::decode_kind::<CircuitBreakerSpec>(doc, at)?.into_parts();
    let field = |f: &str| join_path(at, f);
    let time_based = one_of(
        s.sliding_window_type.as_deref(),
        &["COUNT_BASED", "TIME_BASED"],
        &field("slidingWindowType"),
    )? == Some(1);
    let percent = |f: &str, v: Option<u8>, default: u8| match v {
        None => Ok(default),
        Some(p @ 1..=100) => Ok(p),
        Some(p) => Err(SpecError::new(
            field(f),
            format!("{p} is not a percentage in 1-100"),
        )),
    };
    let count = |f: &str, v: Option<u32>, default: u32, min: u32, max: u32| match v {
        None => Ok(default),
        Some(n) if n < min => Err(SpecError::new(field(f), format!("must be at least {min}"))),
        Some(n) if n > max => Err(SpecError::new(
            field(f),
            format!("{n} is larger than {max}"),
        )),
        Some(n) => Ok(n),
    };
    let duration = |v: Option<GoDuration>, default: Duration| v.map_or(default, GoDuration::get);
    let slow_call_duration_threshold =
        duration(s.slow_call_duration_threshold, DEFAULT_SLOW_CALL_DURATION);
    if slow_call_duration_threshold.is_zero() {
        return Err(SpecError::new(
            field("slowCallDurationThreshold"),
            "must be positive (0 would make every call slow)",
        ));
    }
    let policy = BreakerPolicy {
        failure_rate_threshold: percent(
            "failureRateThreshold",
            s.failure_rate_threshold,
            DEFAULT_FAILURE_RATE,
        )?,
        slow_call_rate_threshold: percent(
            "slowCallRateThreshold",
            s.slow_call_rate_threshold,
            DEFAULT_SLOW_CALL_RATE,
        )?,
        time_based,
        sliding_window_size: count(
            "slidingWindowSize",
            s.sliding_window_size,
            DEFAULT_WINDOW_SIZE,
            1,
            MAX_WINDOW_SIZE,
        )?,
        permitted_calls_in_half_open: count(
            "permittedNumberOfCallsInHalfOpenState",
            s.permitted_number_of_calls_in_half_open_state,
            DEFAULT_HALF_OPEN_CALLS,
            1,
            MAX_WINDOW_SIZE,
        )?,
        minimum_number_of_calls: s.minimum_number_of_calls.unwrap_or(DEFAULT_MINIMUM_CALLS),
        slow_call_duration_threshold,
        max_wait_in_half_open: duration(s.max_wait_duration_in_half_open_state, Duration::ZERO),
        wait_in_open: duration(s.wait_duration_in_open_state, DEFAULT_WAIT_IN_OPEN),
    };
    Ok((policy, warnings))
}

/// The index in `allowed` of `v` (any case), `None` when `v` is absent or empty.
fn one_of(v: Option<&str>, allowed: &[&str], path: &str) -> Result<Option<usize>, SpecError> {
    match v {
        None | Some("") => Ok(None),
        // Easegress's docs write these in several cases; any case is accepted.
        Some(s) => allowed
            .iter()
            .position(|a| a.eq_ignore_ascii_case(s))
            .map(Some)
            .ok_or_else(|| {
                SpecError::new(path, format!("{s:?} is not one of {}", allowed.join(", ")))
            }),
    }
}
