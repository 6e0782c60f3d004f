//! The YAML form of the `WebSocketProxy` filter, as Easegress writes it. Checking the values
//! happens in [`super::pool`], naming the field at fault.

use eg_upstream::health::WebSocketHealthCheckSpec;
use eg_upstream::spec::{LoadBalanceSpec, RequestMatcherSpec, ServerSpec};
use serde::Deserialize;
use serde_json::Value;

/// Default `clientMaxMsgSize` and `serverMaxMsgSize`: 32 KiB.
pub const DEFAULT_MAX_MSG_SIZE: i64 = 32 * 1024;
/// `clientMaxMsgSize`/`serverMaxMsgSize` value for "no limit".
pub const UNLIMITED_MSG_SIZE: i64 = -1;

/// The `WebSocketProxy` filter spec.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebSocketProxySpec {
    /// Server pools: exactly one without `filter` (the main pool); the others are candidates
    /// tried in order. Required.
    pub pools: Option<Vec<WsPoolSpec>>,
}

/// A pool of WebSocket servers.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WsPoolSpec {
    /// Static servers (`ws://` or `wss://`).
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
    /// Which requests this pool takes (candidate pools).
    #[serde(default)]
    pub filter: Option<RequestMatcherSpec>,
    /// Largest message read from the client in bytes; 0 = 32768, -1 = no limit.
    #[serde(default)]
    pub client_max_msg_size: i64,
    /// Largest message read from the server in bytes; 0 = 32768, -1 = no limit.
    #[serde(default)]
    pub server_max_msg_size: i64,
    /// Skip the client `Origin` check, and the verification of `wss` server certificates.
    #[serde(default)]
    pub insecure_skip_verify: bool,
    /// Host patterns of origins allowed besides the request's own host.
    #[serde(default)]
    pub origin_patterns: Vec<String>,
    /// Active health check: an `http` probe, a `ws` probe, or both.
    #[serde(default)]
    pub health_check: Option<WebSocketHealthCheckSpec>,
}

/// The defaults served by the metadata API.
pub fn default_spec() -> Value {
    serde_json::json!({})
}
