//! The YAML form of a `GRPCProxy`.

use eg_spec::GoDuration;
use serde::Deserialize;
use serde_json::{json, Value};

pub use eg_upstream::spec::{LoadBalanceSpec, RequestMatcherSpec, ServerSpec};

/// Default `maxIdleConnsPerHost`.
pub const DEFAULT_MAX_IDLE_CONNS_PER_HOST: i64 = 1024;

/// The kind fields of a `GRPCProxy` filter.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GrpcProxySpec {
    /// The server pools: one main pool (without `filter`) and candidates.
    #[serde(default)]
    pub pools: Vec<GrpcPoolSpec>,
    /// Deadline of a call until its answer starts (unary calls: the whole call).
    #[serde(default)]
    pub timeout: Option<GoDuration>,
    /// Deadline for a connection to take one more call.
    #[serde(default)]
    pub borrow_timeout: Option<GoDuration>,
    /// Deadline for connecting to a server.
    #[serde(default)]
    pub connect_timeout: Option<GoDuration>,
    /// Most connections kept per server (default 1024).
    #[serde(default)]
    pub max_idle_conns_per_host: Option<i64>,
}

/// A server pool of a `GRPCProxy`.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GrpcPoolSpec {
    /// The servers (`http://host:port`).
    #[serde(default)]
    pub servers: Vec<ServerSpec>,
    /// Only servers with one of these tags.
    #[serde(default)]
    pub server_tags: Vec<String>,
    /// Not supported: service registries.
    #[serde(default)]
    pub service_registry: String,
    /// Not supported: service registries.
    #[serde(default)]
    pub service_name: String,
    /// Load balancing, `forward`/`forwardKey` included.
    #[serde(default)]
    pub load_balance: Option<LoadBalanceSpec>,
    /// Which calls a candidate pool takes; `methods` matches the full method.
    #[serde(default)]
    pub filter: Option<RequestMatcherSpec>,
    /// Tracing span name (tracing is not supported; kept for compatibility).
    #[serde(default)]
    pub span_name: String,
    /// Name of a `CircuitBreaker` policy of the pipeline.
    #[serde(default)]
    pub circuit_breaker_policy: String,
}

/// The default spec.
pub fn default_spec() -> Value {
    json!({"maxIdleConnsPerHost": DEFAULT_MAX_IDLE_CONNS_PER_HOST})
}
