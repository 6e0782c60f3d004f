//! Resilience policies: a pipeline's `resilience` list of `Retry` and `CircuitBreaker`
//! policies, decoded and checked once by the pipeline ([`Policies::decode`]) and handed to
//! the filters that name them (the Proxy's `retryPolicy` and `circuitBreakerPolicy`)
//! through [`crate::BuildContext::resilience`], typed.
//!
//! The breaker itself ([`CircuitBreaker`]) is the state machine a filter runs its calls
//! through; a policy is only its settings.

mod attempts;
pub mod circuitbreaker;
mod policy;

use std::collections::BTreeMap;

use eg_spec::error::join_path;
use eg_spec::SpecError;
use serde_json::Value;

pub use attempts::Attempts;
pub use circuitbreaker::{BreakerCall, BreakerPolicy, CircuitBreaker, Permit, State};
pub use policy::RetryPolicy;

/// Kind name of a retry policy.
pub const RETRY: &str = "Retry";
/// Kind name of a circuit-breaker policy.
pub const CIRCUIT_BREAKER: &str = "CircuitBreaker";

/// One decoded policy.
#[derive(Debug, Clone, PartialEq)]
pub enum Policy {
    /// A `Retry` policy.
    Retry(RetryPolicy),
    /// A `CircuitBreaker` policy.
    CircuitBreaker(BreakerPolicy),
}

impl Policy {
    /// The kind name.
    pub fn kind(&self) -> &'static str {
        match self {
            Policy::Retry(_) => RETRY,
            Policy::CircuitBreaker(_) => CIRCUIT_BREAKER,
        }
    }
}

/// A pipeline's policies by name.
#[derive(Debug, Clone, Default)]
pub struct Policies {
    by_name: BTreeMap<String, Policy>,
}

impl Policies {
    /// No policies.
    pub fn new() -> Policies {
        Policies::default()
    }

    /// Decodes and checks the `resilience` list found at `path`: every policy needs a unique
    /// name and a known kind, and its fields must follow the kind's rules. Returns the
    /// policies and the warnings found (unknown keys).
    pub fn decode(list: &[Value], path: &str) -> Result<(Policies, Vec<String>), SpecError> {
        let mut out = Policies::new();
        let mut warnings = Vec::new();
        for (i, doc) in list.iter().enumerate() {
            let at = format!("{path}[{i}]");
            let obj = doc
                .as_object()
                .ok_or_else(|| SpecError::new(&at, "must be a mapping with name and kind"))?;
            let name = match obj.get("name") {
                Some(Value::String(s)) if !s.is_empty() => s.clone(),
                _ => return Err(SpecError::new(join_path(&at, "name"), "required")),
            };
            let (policy, w) = match obj.get("kind").and_then(Value::as_str) {
                Some(RETRY) => {
                    let (p, w) = RetryPolicy::decode(doc, &at)?;
                    (Policy::Retry(p), w)
                }
                Some(CIRCUIT_BREAKER) => {
                    let (p, w) = policy::decode_circuit_breaker(doc, &at)?;
                    (Policy::CircuitBreaker(p), w)
                }
                Some(other) => {
                    return Err(SpecError::new(
                        join_path(&at, "kind"),
                        format!("unknown resilience kind {other:?}: use Retry or CircuitBreaker"),
                    ))
                }
                None => return Err(SpecError::new(join_path(&at, "kind"), "required")),
            };
            warnings.extend(w);
            if out.by_name.contains_key(&name) {
                return Err(SpecError::new(
                    join_path(&at, "name"),
                    format!("duplicated resilience policy name {name:?}"),
                ));
            }
            out.by_name.insert(name, policy);
        }
        Ok((out, warnings))
    }

    /// The policy called `name`.
    pub fn get(&self, name: &str) -> Option<&Policy> {
        self.by_name.get(name)
    }

    /// The `Retry` policy a filter names in the field at `path`.
    pub fn retry(&self, name: &str, path: &str) -> Result<&RetryPolicy, SpecError> {
        match self.named(name, RETRY, path)? {
            Policy::Retry(p) => Ok(p),
            other => Err(not_a(name, RETRY, other, path)),
        }
    }

    /// The `CircuitBreaker` policy a filter names in the field at `path`.
    pub fn circuit_breaker(&self, name: &str, path: &str) -> Result<&BreakerPolicy, SpecError> {
        match self.named(name, CIRCUIT_BREAKER, path)? {
            Policy::CircuitBreaker(p) => Ok(p),
            other => Err(not_a(name, CIRCUIT_BREAKER, other, path)),
        }
    }

    fn named(&self, name: &str, kind: &str, path: &str) -> Result<&Policy, SpecError> {
        self.get(name).ok_or_else(|| {
            SpecError::new(
                path,
                format!("{kind} policy {name:?} not found in the pipeline's resilience"),
            )
        })
    }
}

fn not_a(name: &str, kind: &str, actual: &Policy, path: &str) -> SpecError {
    SpecError::new(
        path,
        format!(
            "policy {name:?} is not a {kind} policy (it is {:?})",
            actual.kind()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn decode(list: Value) -> Result<(Policies, Vec<String>), SpecError> {
        Policies::decode(
            list.as_array().map(Vec::as_slice).unwrap_or(&[]),
            "resilience",
        )
    }

    #[test]
    fn policies_are_typed_by_name() {
        let (p, w) = decode(json!([
            {"name": "r", "kind": "Retry", "maxAttempts": 0, "waitDuration": "1ms", "x": 1},
            {"name": "cb", "kind": "CircuitBreaker", "failureRateThreshold": 60,
             "slidingWindowType": "time_based"},
        ]))
        .unwrap();
        assert_eq!(w, vec!["resilience[0].x: unknown field, ignored"]);
        assert_eq!(p.retry("r", "f").map(|r| r.max_attempts), Ok(3));
        let cb = p.circuit_breaker("cb", "f").unwrap();
        assert_eq!(cb.failure_rate_threshold, 60);
        assert!(cb.time_based);
        assert_eq!(cb.minimum_number_of_calls, 100);
        let e = p.circuit_breaker("r", "pool.cb").unwrap_err();
        assert_eq!(e.path, "pool.cb");
        assert!(e.message.contains("not a CircuitBreaker"), "{e}");
        let e = p.retry("nope", "pool.r").unwrap_err();
        assert!(e.message.contains("not found"), "{e}");
    }

    #[test]
    fn every_field_is_accepted() {
        let (p, _) = decode(json!([{"name": "cb", "kind": "CircuitBreaker",
            "slidingWindowType": "time_based", "failureRateThreshold": 100,
            "slowCallRateThreshold": 1, "slowCallDurationThreshold": "2s",
            "slidingWindowSize": 60, "permittedNumberOfCallsInHalfOpenState": 1,
            "minimumNumberOfCalls": 0, "maxWaitDurationInHalfOpenState": "5s",
            "waitDurationInOpenState": "0"}]))
        .unwrap();
        assert!(p.circuit_breaker("cb", "").is_ok());
        for ok in [
            "random",
            "RANDOM",
            "exponential",
            "EXPONENTIAL",
            "Exponential",
            "",
        ] {
            assert!(
                decode(json!([{"name": "r", "kind": "Retry", "backOffPolicy": ok}])).is_ok(),
                "{ok}"
            );
        }
    }

    /// Easegress's schema says 1-100 for the rates; 0 is refused (leave the field out for
    /// the default), whether or not a filter uses the policy.
    #[test]
    fn bad_fields_are_named_at_their_own_path() {
        let cases = [
            (
                json!({"slidingWindowType": "SESSION_BASED"}),
                "slidingWindowType",
            ),
            (json!({"failureRateThreshold": 0}), "failureRateThreshold"),
            (json!({"failureRateThreshold": 101}), "failureRateThreshold"),
            (json!({"failureRateThreshold": 300}), "failureRateThreshold"),
            (json!({"slowCallRateThreshold": 0}), "slowCallRateThreshold"),
            (
                json!({"slowCallRateThreshold": 200}),
                "slowCallRateThreshold",
            ),
            (json!({"slidingWindowSize": 0}), "slidingWindowSize"),
            (json!({"slidingWindowSize": 1_000_000}), "slidingWindowSize"),
            (
                json!({"permittedNumberOfCallsInHalfOpenState": 0}),
                "permittedNumberOfCallsInHalfOpenState",
            ),
            (json!({"minimumNumberOfCalls": -1}), "minimumNumberOfCalls"),
            (
                json!({"slowCallDurationThreshold": "0s"}),
                "slowCallDurationThreshold",
            ),
            (
                json!({"slowCallDurationThreshold": "soon"}),
                "slowCallDurationThreshold",
            ),
            (
                json!({"maxWaitDurationInHalfOpenState": "1 minute"}),
                "maxWaitDurationInHalfOpenState",
            ),
            (
                json!({"waitDurationInOpenState": "-1s"}),
                "waitDurationInOpenState",
            ),
        ];
        for (extra, field) in cases {
            let mut p = json!({"name": "cb", "kind": "CircuitBreaker"});
            if let (Some(p), Some(extra)) = (p.as_object_mut(), extra.as_object()) {
                p.extend(extra.clone());
            }
            let e = decode(json!([p]))
                .err()
                .unwrap_or_else(|| panic!("{extra} accepted"));
            assert_eq!(e.path, format!("resilience[0].{field}"), "{extra}: {e}");
        }
        for (doc, path) in [
            (
                json!({"name": "r", "kind": "Retry", "backOffPolicy": "linear"}),
                "backOffPolicy",
            ),
            (
                json!({"name": "r", "kind": "Retry", "randomizationFactor": 2}),
                "randomizationFactor",
            ),
            (
                json!({"name": "r", "kind": "Retry", "maxAttempts": -1}),
                "maxAttempts",
            ),
            (
                json!({"name": "r", "kind": "Retry", "waitDuration": ""}),
                "waitDuration",
            ),
            (json!({"name": "r", "kind": "Limit"}), "kind"),
            (json!({"kind": "Retry"}), "name"),
        ] {
            let e = decode(json!([doc])).unwrap_err();
            assert_eq!(e.path, format!("resilience[0].{path}"), "{doc}: {e}");
        }
        let e = decode(json!([{"name": "r", "kind": "Retry"}, {"name": "r", "kind": "Retry"}]))
            .unwrap_err();
        assert_eq!(e.path, "resilience[1].name");
    }
}
