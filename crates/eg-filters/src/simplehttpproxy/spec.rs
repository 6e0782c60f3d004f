//! The YAML form of the `SimpleHTTPProxy` filter, and its check: every value is checked
//! and compiled here, each error naming the field at fault; nothing live is built.

use std::time::Duration;

use eg_spec::SpecError;
use eg_upstream::connections::ClientSettings;
use serde::Deserialize;
use serde_json::Value;

use crate::proxy::compression::Compression;
use crate::proxy::spec::CompressionSpec;
use crate::proxy::DEFAULT_SERVER_MAX_BODY_SIZE;
use crate::resilience::{Policies, RetryPolicy};

/// Easegress's default `maxIdleConns`: idle connections kept to all hosts together.
pub const DEFAULT_MAX_IDLE_CONNS: i64 = 10240;
/// Easegress's default `maxIdleConnsPerHost`.
pub const DEFAULT_MAX_IDLE_CONNS_PER_HOST: i64 = 1024;

/// The `SimpleHTTPProxy` filter spec.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SimpleHttpProxySpec {
    /// Name of a `Retry` policy of the pipeline's `resilience`: a request whose upstream
    /// cannot be reached is sent again (not when its body is streamed).
    #[serde(default)]
    pub retry_policy: String,
    /// Deadline of one attempt: connecting, sending and reading the answer (its head only
    /// when the answer is streamed); for `CONNECT`, dialling the target. Empty or 0: none.
    #[serde(default, deserialize_with = "eg_upstream::spec::opt_duration")]
    #[schemars(with = "Option<eg_spec::GoDuration>")]
    pub timeout: Option<Duration>,
    /// Response compression.
    #[serde(default)]
    pub compression: Option<CompressionSpec>,
    /// Idle plain-HTTP connections kept to all hosts together; 0 = no limit. Default 10240.
    #[serde(default)]
    pub max_idle_conns: Option<i64>,
    /// Idle keep-alive connections kept per host. Default 1024.
    #[serde(default)]
    pub max_idle_conns_per_host: Option<i64>,
    /// Response body limit in bytes; 0 = 4 MiB, negative (-1) = stream.
    #[serde(default)]
    pub server_max_body_size: i64,
    /// Skip verification of `https` targets' certificates (default false: verified).
    #[serde(default)]
    pub insecure_skip_verify: bool,
}

/// The defaults served by the metadata API.
pub fn default_spec() -> Value {
    serde_json::json!({
        "maxIdleConns": DEFAULT_MAX_IDLE_CONNS,
        "maxIdleConnsPerHost": DEFAULT_MAX_IDLE_CONNS_PER_HOST,
    })
}

/// A checked spec: what the filter is built from.
#[derive(Debug)]
pub struct Plan {
    /// The filter name.
    pub name: String,
    /// The compiled `retryPolicy`.
    pub retry: Option<RetryPolicy>,
    /// `timeout`, when set and not 0.
    pub timeout: Option<Duration>,
    /// `compression`.
    pub compression: Option<Compression>,
    /// Response body limit; `None` = stream.
    pub max_body: Option<u64>,
    /// The upstream client's settings.
    pub settings: ClientSettings,
    /// Unknown keys found in the spec.
    pub warnings: Vec<String>,
}

impl Plan {
    /// Decodes and checks the filter document at `path` (e.g. `filters[0]`).
    pub fn check(
        doc: &Value,
        path: &str,
        name: &str,
        resilience: &Policies,
    ) -> Result<Plan, SpecError> {
        let (spec, warnings) = eg_spec::decode_kind::<SimpleHttpProxySpec>(doc, path)?.into_parts();
        let field = |f: &str| eg_spec::error::join_path(path, f);
        for (f, v) in [
            ("maxIdleConns", spec.max_idle_conns),
            ("maxIdleConnsPerHost", spec.max_idle_conns_per_host),
        ] {
            if v.is_some_and(|v| v < 0) {
                return Err(SpecError::new(
                    field(f),
                    "must be greater than or equal to 0",
                ));
            }
        }
        let retry = if spec.retry_policy.is_empty() {
            None
        } else {
            Some(
                resilience
                    .retry(&spec.retry_policy, &field("retryPolicy"))?
                    .clone(),
            )
        };
        let max_idle_per_host = match spec.max_idle_conns_per_host {
            None | Some(0) => DEFAULT_MAX_IDLE_CONNS_PER_HOST,
            Some(n) => n,
        };
        // Go's `MaxIdleConns`: 0 is no limit.
        let max_idle = match spec.max_idle_conns {
            None => DEFAULT_MAX_IDLE_CONNS as usize,
            Some(0) => usize::MAX,
            Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
        };
        let max_body = match spec.server_max_body_size {
            0 => Some(DEFAULT_SERVER_MAX_BODY_SIZE),
            n if n < 0 => None,
            n => Some(n.unsigned_abs()),
        };
        Ok(Plan {
            name: name.to_string(),
            retry,
            timeout: spec.timeout.filter(|d| !d.is_zero()),
            compression: spec.compression.map(|c| Compression {
                min_length: u64::from(c.min_length),
            }),
            max_body,
            settings: ClientSettings {
                insecure: spec.insecure_skip_verify,
                mtls: None,
                max_idle_per_host: usize::try_from(max_idle_per_host).unwrap_or(usize::MAX),
                max_idle,
            },
            warnings,
        })
    }
}
