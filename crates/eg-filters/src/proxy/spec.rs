//! The YAML form of the `Proxy` filter, as Easegress writes it.
//!
//! The pieces every proxy filter shares (servers, load balancing, health checks, request
//! matchers, mTLS) are [`eg_upstream::spec`]'s; checking values and compiling them happens
//! in the modules that use them (`pool.rs` and the `eg-upstream` crate), each naming
//! the field at fault.

use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

pub use eg_upstream::spec::{
    BodyMatchSpec, HeaderMatchSpec, HealthCheckSpec, HealthMatchSpec, LoadBalanceSpec, MtlsSpec,
    RequestMatcherSpec, ServerSpec, UrlMatcherSpec,
};

/// Easegress's default `maxIdleConns` (accepted; the pool bounds idle connections per host).
pub const DEFAULT_MAX_IDLE_CONNS: i64 = 10240;
/// Default idle connections kept per upstream host.
pub const DEFAULT_MAX_IDLE_CONNS_PER_HOST: i64 = 1024;

/// The `Proxy` filter spec.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProxySpec {
    /// Server pools: exactly one without `filter` (the main pool), the others are candidates
    /// tried in order. Required.
    pub pools: Option<Vec<PoolSpec>>,
    /// A pool that also receives a copy of matching requests; its responses are discarded.
    #[serde(default)]
    pub mirror_pool: Option<PoolSpec>,
    /// Response compression.
    #[serde(default)]
    pub compression: Option<CompressionSpec>,
    /// Client certificate (and root CA) for upstream TLS.
    #[serde(default)]
    pub mtls: Option<MtlsSpec>,
    /// Idle plain-HTTP upstream connections kept in all (Go's `MaxIdleConns`); 0 = no
    /// limit. Default 10240.
    #[serde(default)]
    pub max_idle_conns: Option<i64>,
    /// Idle keep-alive connections kept per upstream host. Default 1024.
    #[serde(default)]
    pub max_idle_conns_per_host: Option<i64>,
    /// Upstream redirects: 0 returns 3xx as they are; N follows them while fewer than N
    /// requests were sent (Go's `CheckRedirect` as Easegress sets it).
    #[serde(default)]
    pub max_redirection: i64,
    /// Response body limit in bytes; 0 = 4 MiB, negative = stream.
    #[serde(default)]
    pub server_max_body_size: i64,
    /// Skip verification of upstream TLS certificates (default false: verified).
    #[serde(default)]
    pub insecure_skip_verify: bool,
}

/// A server pool.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PoolSpec {
    /// Static servers.
    #[serde(default)]
    pub servers: Vec<ServerSpec>,
    /// Use only servers having one of these tags.
    #[serde(default)]
    pub server_tags: Vec<String>,
    /// Send the server's host as `Host` even for IP servers (unless the server `keepHost`).
    #[serde(default)]
    pub set_upstream_host: bool,
    /// Service registry name (not supported yet).
    #[serde(default)]
    pub service_registry: String,
    /// Service name in the registry (not supported yet).
    #[serde(default)]
    pub service_name: String,
    /// Load balancing; omitted = round robin.
    #[serde(default)]
    pub load_balance: Option<LoadBalanceSpec>,
    /// Which requests this pool takes (candidate and mirror pools).
    #[serde(default)]
    pub filter: Option<RequestMatcherSpec>,
    /// Name of the span of each upstream attempt when the server traces requests
    /// (default: the pool name, `proxy#<filter>#main|candidate#<i>|mirror`).
    #[serde(default)]
    pub span_name: String,
    /// Overrides the Proxy's `serverMaxBodySize` when not 0.
    #[serde(default)]
    pub server_max_body_size: i64,
    /// Deadline of one upstream attempt (status 408, result `timeout`).
    #[serde(default, deserialize_with = "eg_upstream::spec::opt_duration")]
    #[schemars(with = "Option<eg_spec::GoDuration>")]
    pub timeout: Option<Duration>,
    /// Name of a `Retry` policy of the pipeline's `resilience`.
    #[serde(default)]
    pub retry_policy: String,
    /// Name of a `CircuitBreaker` policy of the pipeline's `resilience`.
    #[serde(default)]
    pub circuit_breaker_policy: String,
    /// Upstream statuses counted as failures (result `failureCode`); default 500-599.
    #[serde(default)]
    pub failure_codes: Vec<i64>,
    /// Response cache: whole responses kept in memory for a while.
    #[serde(default)]
    pub memory_cache: Option<MemoryCacheSpec>,
    /// Active health check.
    #[serde(default)]
    pub health_check: Option<HealthCheckSpec>,
    /// Overrides the Proxy's `insecureSkipVerify` for this pool.
    #[serde(default)]
    pub insecure_skip_verify: Option<bool>,
}

/// `memoryCache` of a pool.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MemoryCacheSpec {
    /// How long an entry is served. Required.
    #[serde(default, deserialize_with = "eg_upstream::spec::opt_duration")]
    #[schemars(with = "Option<eg_spec::GoDuration>")]
    pub expiration: Option<Duration>,
    /// Largest body stored, in bytes (1 to 4294967295). Required.
    #[serde(default)]
    pub max_entry_bytes: i64,
    /// Statuses stored. Required, at least one.
    #[serde(default)]
    pub codes: Vec<i64>,
    /// Methods looked up and stored (upper case). Required, at least one.
    #[serde(default)]
    pub methods: Vec<String>,
    /// Not in Easegress: memory all entries may take, in bytes (body, headers and key of
    /// each); the oldest go first. Default 64 MiB (or `maxEntryBytes` if larger); not
    /// below `maxEntryBytes`.
    #[serde(default)]
    pub max_total_bytes: Option<i64>,
}

/// `compression`.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CompressionSpec {
    /// Responses with a known length below this are not compressed.
    #[serde(default)]
    pub min_length: u32,
}

/// The defaults served by the metadata API.
pub fn default_spec() -> Value {
    serde_json::json!({
        "maxIdleConns": DEFAULT_MAX_IDLE_CONNS,
        "maxIdleConnsPerHost": DEFAULT_MAX_IDLE_CONNS_PER_HOST,
    })
}
