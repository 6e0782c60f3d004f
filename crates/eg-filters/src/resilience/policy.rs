//! The pipeline `resilience` policies a pool refers to by name.
//!
//! `retryPolicy` names a `Retry` policy, applied to requests whose body is buffered (a
//! streamed body can be sent only once). `circuitBreakerPolicy` names a `CircuitBreaker`
//! policy, compiled here into a [`BreakerPolicy`]; the breaker wraps the retries.

use std::time::Duration;

use eg_spec::{GoDuration, SpecError};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::circuitbreaker::BreakerPolicy;

/// Default `maxAttempts`.
const DEFAULT_MAX_ATTEMPTS: u32 = 3;
/// Default `waitDuration`.
const DEFAULT_WAIT: Duration = Duration::from_millis(500);
/// Growth of the wait after each attempt with `backOffPolicy: exponential`.
const EXPONENTIAL_FACTOR: f64 = 1.5;

/// A compiled `Retry` policy.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Total attempts including the first.
    pub max_attempts: u32,
    wait: Duration,
    exponential: bool,
    randomization: f64,
}

impl RetryPolicy {
    /// The wait before attempt `next` (1-based count of attempts already made).
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
}

fn policy<'a>(
    resilience: &'a Map<String, Value>,
    name: &str,
    kind: &str,
    path: &str,
) -> Result<&'a Value, SpecError> {
    let spec = resilience.get(name).ok_or_else(|| {
        SpecError::new(
            path,
            format!("{kind} policy {name:?} not found in the pipeline's resilience"),
        )
    })?;
    let actual = spec.get("kind").and_then(Value::as_str).unwrap_or("");
    if actual != kind {
        return Err(SpecError::new(
            path,
            format!("policy {name:?} is not a {kind} policy (it is {actual:?})"),
        ));
    }
    Ok(spec)
}

/// Resolves `retryPolicy`; errors name `path`.
pub fn retry_policy(
    resilience: &Map<String, Value>,
    name: &str,
    path: &str,
) -> Result<RetryPolicy, SpecError> {
    let spec = policy(resilience, name, "Retry", path)?;
    let max_attempts = match spec.get("maxAttempts").and_then(Value::as_i64) {
        None | Some(0) => DEFAULT_MAX_ATTEMPTS,
        Some(n) if n > 0 => u32::try_from(n).unwrap_or(u32::MAX),
        Some(n) => {
            return Err(SpecError::new(
                path,
                format!("policy {name:?}: maxAttempts {n} must be positive"),
            ))
        }
    };
    let wait = match spec.get("waitDuration").and_then(Value::as_str) {
        None | Some("") => DEFAULT_WAIT,
        Some(t) => GoDuration::parse(t)
            .map_err(|e| SpecError::new(path, format!("policy {name:?}: waitDuration: {e}")))?
            .get(),
    };
    let exponential = match spec.get("backOffPolicy").and_then(Value::as_str) {
        None | Some("") => false,
        Some(p) if p.eq_ignore_ascii_case("random") => false,
        Some(p) if p.eq_ignore_ascii_case("exponential") => true,
        Some(p) => {
            return Err(SpecError::new(
                path,
                format!("policy {name:?}: unknown backOffPolicy {p:?}"),
            ))
        }
    };
    let randomization = spec
        .get("randomizationFactor")
        .and_then(Value::as_f64)
        .unwrap_or(0.0)
        .clamp(0.0, 1.0);
    Ok(RetryPolicy {
        max_attempts,
        wait,
        exponential,
        randomization,
    })
}

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
const MAX_WINDOW_SIZE: u64 = 100_000;

/// The `CircuitBreaker` fields; a missing (or null, or `""`) field takes its default.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BreakerSpec {
    #[serde(default)]
    sliding_window_type: Option<String>,
    #[serde(default)]
    failure_rate_threshold: Option<u64>,
    #[serde(default)]
    slow_call_rate_threshold: Option<u64>,
    #[serde(default)]
    sliding_window_size: Option<u64>,
    #[serde(default)]
    permitted_number_of_calls_in_half_open_state: Option<u64>,
    #[serde(default)]
    minimum_number_of_calls: Option<u64>,
    #[serde(default)]
    slow_call_duration_threshold: Option<String>,
    #[serde(default)]
    max_wait_duration_in_half_open_state: Option<String>,
    #[serde(default)]
    wait_duration_in_open_state: Option<String>,
}

/// Resolves and compiles `circuitBreakerPolicy`; errors name `path` and the policy field.
pub fn circuit_breaker_policy(
    resilience: &Map<String, Value>,
    name: &str,
    path: &str,
) -> Result<BreakerPolicy, SpecError> {
    let spec = policy(resilience, name, "CircuitBreaker", path)?;
    let err =
        |field: &str, m: String| SpecError::new(path, format!("policy {name:?}: {field}: {m}"));
    let s = eg_spec::decode::<BreakerSpec>(spec, "")
        .map_err(|e| SpecError::new(path, format!("policy {name:?}: {e}")))?
        .spec;
    let time_based = match s.sliding_window_type.as_deref().map(str::trim) {
        None | Some("") => false,
        Some(t) if t.eq_ignore_ascii_case("COUNT_BASED") => false,
        Some(t) if t.eq_ignore_ascii_case("TIME_BASED") => true,
        Some(t) => {
            return Err(err(
                "slidingWindowType",
                format!("{t:?} is not COUNT_BASED or TIME_BASED"),
            ))
        }
    };
    let percent = |field: &str, v: Option<u64>, default: u8| match v {
        None => Ok(default),
        Some(p @ 1..=100) => Ok(p as u8),
        Some(p) => Err(err(field, format!("{p} is not a percentage in 1-100"))),
    };
    let count = |field: &str, v: Option<u64>, default: u32, min: u64, max: u64| match v {
        None => Ok(default),
        Some(n) if n < min => Err(err(field, format!("must be at least {min}"))),
        Some(n) if n > max => Err(err(field, format!("{n} is larger than {max}"))),
        Some(n) => Ok(n as u32),
    };
    let duration = |field: &str, v: &Option<String>, default: Duration| match v.as_deref() {
        None | Some("") => Ok(default),
        Some(t) => GoDuration::parse(t)
            .map(GoDuration::get)
            .map_err(|e| err(field, e)),
    };
    let slow_call_duration_threshold = duration(
        "slowCallDurationThreshold",
        &s.slow_call_duration_threshold,
        DEFAULT_SLOW_CALL_DURATION,
    )?;
    if slow_call_duration_threshold.is_zero() {
        return Err(err(
            "slowCallDurationThreshold",
            "must be positive (0 would make every call slow)".into(),
        ));
    }
    Ok(BreakerPolicy {
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
        minimum_number_of_calls: count(
            "minimumNumberOfCalls",
            s.minimum_number_of_calls,
            DEFAULT_MINIMUM_CALLS,
            0,
            u64::from(u32::MAX),
        )?,
        slow_call_duration_threshold,
        max_wait_in_half_open: duration(
            "maxWaitDurationInHalfOpenState",
            &s.max_wait_duration_in_half_open_state,
            Duration::ZERO,
        )?,
        wait_in_open: duration(
            "waitDurationInOpenState",
            &s.wait_duration_in_open_state,
            DEFAULT_WAIT_IN_OPEN,
        )?,
    })
}
