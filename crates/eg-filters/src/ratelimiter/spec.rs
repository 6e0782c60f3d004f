//! The `RateLimiter` spec.

use std::time::Duration;

use eg_spec::error::join_path;
use eg_spec::{GoDuration, SpecError, StringMatcherSpec};
use http::Method;
use serde::Deserialize;
use serde_json::{json, Value};

use super::limiter::LimiterPolicy;

/// Default `timeoutDuration`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(100);
/// Default `limitRefreshPeriod`.
pub const DEFAULT_REFRESH_PERIOD: Duration = Duration::from_millis(10);
/// Default `limitForPeriod`.
pub const DEFAULT_LIMIT_FOR_PERIOD: u64 = 50;

/// `RateLimiter` fields.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RateLimiterSpec {
    /// The policies rules refer to by name. Required (may be empty only if `urls` is).
    #[serde(default)]
    pub policies: Option<Vec<PolicySpec>>,
    /// The policy of rules without `policyRef`.
    #[serde(default)]
    pub default_policy_ref: String,
    /// The rules, tried in order; the first that matches limits the request. Required.
    #[serde(default)]
    pub urls: Option<Vec<UrlRuleSpec>>,
}

/// One policy.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PolicySpec {
    /// Name (required, unique).
    #[serde(default)]
    pub name: String,
    /// How long a request may wait for a permit of a coming cycle. Default 100ms.
    #[serde(default)]
    pub timeout_duration: Option<String>,
    /// Cycle length. Default 10ms; must not be 0.
    #[serde(default)]
    pub limit_refresh_period: Option<String>,
    /// Permits per cycle. Default (and 0) 50.
    #[serde(default)]
    pub limit_for_period: Option<i64>,
}

/// One `urls` rule.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UrlRuleSpec {
    /// Methods the rule applies to; empty = all.
    #[serde(default)]
    pub methods: Vec<String>,
    /// Matcher of the (decoded) path. Required.
    #[serde(default)]
    pub url: Option<StringMatcherSpec>,
    /// The policy; empty = `defaultPolicyRef`.
    #[serde(default)]
    pub policy_ref: String,
}

/// The defaults served by the metadata API.
pub(super) fn default_spec() -> Value {
    json!({})
}

fn duration(v: &Option<String>, default: Duration, path: &str) -> Result<Duration, SpecError> {
    match v.as_deref().map(str::trim) {
        None | Some("") => Ok(default),
        Some(t) => GoDuration::parse(t)
            .map(GoDuration::get)
            .map_err(|e| SpecError::new(path, e)),
    }
}

impl PolicySpec {
    /// Checks and compiles the policy at `path`.
    pub(super) fn compile(&self, path: &str) -> Result<LimiterPolicy, SpecError> {
        if self.name.is_empty() {
            return Err(SpecError::new(join_path(path, "name"), "required"));
        }
        let timeout = duration(
            &self.timeout_duration,
            DEFAULT_TIMEOUT,
            &join_path(path, "timeoutDuration"),
        )?;
        let period = duration(
            &self.limit_refresh_period,
            DEFAULT_REFRESH_PERIOD,
            &join_path(path, "limitRefreshPeriod"),
        )?;
        if period.is_zero() {
            return Err(SpecError::new(
                join_path(path, "limitRefreshPeriod"),
                "must be longer than 0",
            ));
        }
        let limit = match self.limit_for_period {
            None | Some(0) => DEFAULT_LIMIT_FOR_PERIOD,
            Some(n) if n > 0 => n as u64,
            Some(n) => {
                return Err(SpecError::new(
                    join_path(path, "limitForPeriod"),
                    format!("{n} must be at least 1"),
                ))
            }
        };
        Ok(LimiterPolicy {
            timeout,
            period,
            limit,
        })
    }
}

/// Parses the `methods` of a rule at `path`.
pub(super) fn methods(list: &[String], path: &str) -> Result<Box<[Method]>, SpecError> {
    list.iter()
        .enumerate()
        .map(|(i, m)| {
            let valid = !m.is_empty() && m.bytes().all(|b| b.is_ascii_uppercase());
            Method::from_bytes(m.as_bytes())
                .ok()
                .filter(|_| valid)
                .ok_or_else(|| {
                    SpecError::new(
                        format!("{path}[{i}]"),
                        format!("{m:?} is not an HTTP method (GET, POST, ...)"),
                    )
                })
        })
        .collect()
}
