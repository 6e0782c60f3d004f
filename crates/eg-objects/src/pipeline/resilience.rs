//! Checks of the pipeline's `resilience` policies.
//!
//! The policies are used by the filters that name them (the Proxy's `retryPolicy` and
//! `circuitBreakerPolicy`), which read the spec themselves; the pipeline checks that every
//! policy has a unique name, a known kind and well-typed fields, and hands them over by name.

use eg_spec::error::join_path;
use eg_spec::{GoDuration, SpecError};
use serde::Deserialize;
use serde_json::{Map, Value};

/// `Retry` fields (defaults applied by the filter using the policy).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)] // decoded for their type checks
struct RetrySpec {
    #[serde(default)]
    max_attempts: Option<u32>,
    #[serde(default)]
    wait_duration: Option<GoDuration>,
    #[serde(default)]
    back_off_policy: Option<String>,
    #[serde(default)]
    randomization_factor: Option<f64>,
}

/// `CircuitBreaker` fields.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)] // decoded for their type checks
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

/// Checks the policies at `path` (`resilience`) and returns them by name, with warnings
/// for unknown keys.
pub fn check(list: &[Value], path: &str) -> Result<(Map<String, Value>, Vec<String>), SpecError> {
    let mut out = Map::new();
    let mut warnings = Vec::new();
    for (i, policy) in list.iter().enumerate() {
        let at = format!("{path}[{i}]");
        let obj = policy
            .as_object()
            .ok_or_else(|| SpecError::new(&at, "must be a mapping with name and kind"))?;
        let name = match obj.get("name") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            _ => return Err(SpecError::new(join_path(&at, "name"), "required")),
        };
        let unknown = match obj.get("kind").and_then(Value::as_str) {
            Some("Retry") => {
                let d = eg_spec::decode::<RetrySpec>(policy, &at)?;
                check_enum(
                    d.spec.back_off_policy.as_deref(),
                    &["random", "exponential"],
                    &join_path(&at, "backOffPolicy"),
                )?;
                if let Some(f) = d.spec.randomization_factor {
                    if !(0.0..=1.0).contains(&f) {
                        return Err(SpecError::new(
                            join_path(&at, "randomizationFactor"),
                            format!("{f} is out of range 0..1"),
                        ));
                    }
                }
                d.unknown
            }
            Some("CircuitBreaker") => {
                let d = eg_spec::decode::<CircuitBreakerSpec>(policy, &at)?;
                check_enum(
                    d.spec.sliding_window_type.as_deref(),
                    &["COUNT_BASED", "TIME_BASED"],
                    &join_path(&at, "slidingWindowType"),
                )?;
                for (field, v) in [
                    ("failureRateThreshold", d.spec.failure_rate_threshold),
                    ("slowCallRateThreshold", d.spec.slow_call_rate_threshold),
                ] {
                    if v.is_some_and(|v| v > 100) {
                        return Err(SpecError::new(
                            join_path(&at, field),
                            "must be a percentage, 0-100",
                        ));
                    }
                }
                d.unknown
            }
            Some(other) => {
                return Err(SpecError::new(
                    join_path(&at, "kind"),
                    format!("unknown resilience kind {other:?}: use Retry or CircuitBreaker"),
                ))
            }
            None => return Err(SpecError::new(join_path(&at, "kind"), "required")),
        };
        let meta = [join_path(&at, "name"), join_path(&at, "kind")];
        warnings.extend(
            unknown
                .into_iter()
                .filter(|k| !meta.contains(k))
                .map(|k| format!("{k}: unknown field, ignored")),
        );
        if out.insert(name.clone(), policy.clone()).is_some() {
            return Err(SpecError::new(
                join_path(&at, "name"),
                format!("duplicated resilience policy name {name:?}"),
            ));
        }
    }
    Ok((out, warnings))
}

fn check_enum(v: Option<&str>, allowed: &[&str], path: &str) -> Result<(), SpecError> {
    match v {
        None | Some("") => Ok(()),
        // Easegress's docs write these in several cases; any case is accepted.
        Some(s) if allowed.iter().any(|a| a.eq_ignore_ascii_case(s)) => Ok(()),
        Some(s) => Err(SpecError::new(
            path,
            format!("{s:?} is not one of {}", allowed.join(", ")),
        )),
    }
}
