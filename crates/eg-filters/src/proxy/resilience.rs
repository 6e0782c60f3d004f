//! The pipeline `resilience` policies a pool refers to by name.
//!
//! `retryPolicy` names a `Retry` policy, applied to requests whose body is buffered (a
//! streamed body can be sent only once). `circuitBreakerPolicy` names a `CircuitBreaker`
//! policy; its name and kind are checked, the breaker itself is not applied yet.

use std::time::Duration;

use eg_spec::{GoDuration, SpecError};
use serde_json::{Map, Value};

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

/// Checks that `circuitBreakerPolicy` names a `CircuitBreaker` policy.
pub fn check_circuit_breaker(
    resilience: &Map<String, Value>,
    name: &str,
    path: &str,
) -> Result<(), SpecError> {
    policy(resilience, name, "CircuitBreaker", path).map(|_| ())
}
