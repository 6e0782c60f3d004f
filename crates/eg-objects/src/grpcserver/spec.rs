//! The YAML/JSON form of a `GRPCServer`, decoded with field paths.

use std::time::Duration;

use eg_spec::{GoDuration, IpFilterSpec};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::httpserver::spec::ValueMatchSpec;

/// Lowest port a GRPCServer may listen on (Easegress's rule).
pub const MIN_PORT: i64 = 1025;
/// Default `maxConnections`.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 10240;
/// Default `maxConnectionIdle` (Easegress's default spec).
pub const DEFAULT_MAX_CONNECTION_IDLE: Duration = Duration::from_secs(60);
/// Default `keepaliveTime` (gRPC's): the server pings an idle connection this often.
pub const DEFAULT_KEEPALIVE_TIME: Duration = Duration::from_secs(2 * 3600);
/// Default `keepaliveTimeout` (gRPC's): a ping unanswered this long closes the connection.
pub const DEFAULT_KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(20);
/// Default `minTimeClientSendPing` (gRPC's).
pub const DEFAULT_MIN_TIME_CLIENT_SEND_PING: Duration = Duration::from_secs(5 * 60);

/// The kind fields of a `GRPCServer` spec.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct GrpcServerSpec {
    /// Listening port, 1025..65535 (required).
    #[serde(default)]
    pub port: Option<i64>,
    /// Bind address; empty = all interfaces.
    #[serde(default)]
    pub address: String,
    /// Most connections served at once (default 10240).
    #[serde(default)]
    pub max_connections: Option<u32>,
    /// Least time between client pings gRPC servers enforce (default 5m); checked, not
    /// enforced (see the reference page).
    #[serde(default)]
    pub min_time_client_send_ping: Option<GoDuration>,
    /// Whether clients may ping without open streams; checked, not enforced.
    #[serde(default)]
    pub permit_clint_send_ping_without_stream: bool,
    /// A connection without streams this long is sent GOAWAY (default 60s; 0 = never).
    #[serde(default)]
    pub max_connection_idle: Option<GoDuration>,
    /// A connection this old is sent GOAWAY (default never).
    #[serde(default)]
    pub max_connection_age: Option<GoDuration>,
    /// After GOAWAY for age, how long streams may still run (default until they end).
    #[serde(default)]
    pub max_connection_age_grace: Option<GoDuration>,
    /// Interval of the server's keep-alive pings (default 2h).
    #[serde(default)]
    pub keepalive_time: Option<GoDuration>,
    /// How long a keep-alive ping may go unanswered (default 20s).
    #[serde(default)]
    pub keepalive_timeout: Option<GoDuration>,
    /// Server-level IP filter (`PermissionDenied` when it refuses).
    #[serde(default)]
    pub ip_filter: Option<IpFilterSpec>,
    /// The routing rules, tried in order.
    #[serde(default)]
    pub rules: Vec<RuleSpec>,
    /// Route-decision cache slots (0 = off).
    #[serde(default)]
    pub cache_size: u32,
    /// Name of a `GlobalFilter` wrapped around every pipeline.
    #[serde(default)]
    pub global_filter: String,
    /// Append the client IP to `X-Forwarded-For`.
    #[serde(default)]
    pub x_forwarded_for: bool,
    /// Proxies (addresses or CIDRs) whose `X-Forwarded-For`/`X-Real-Ip` are believed.
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
}

/// A rule: a host condition, an IP filter and methods.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RuleSpec {
    /// Exact host (`:authority` without port); empty with `hostRegexp` empty = any host.
    #[serde(default)]
    pub host: String,
    /// Host regular expression.
    #[serde(default)]
    pub host_regexp: String,
    /// Rule-level IP filter.
    #[serde(default)]
    pub ip_filter: Option<IpFilterSpec>,
    /// The methods, tried in order.
    #[serde(default)]
    pub methods: Vec<MethodSpec>,
}

/// A gRPC method condition and where it goes.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MethodSpec {
    /// Exact full method, `/package.Service/Method`.
    #[serde(default)]
    pub method: String,
    /// Full-method prefix, e.g. `/package.Service/`.
    #[serde(default)]
    pub method_prefix: String,
    /// Full-method regular expression.
    #[serde(default)]
    pub method_regexp: String,
    /// The pipeline name (required).
    #[serde(default)]
    pub backend: String,
    /// Header (metadata) conditions.
    #[serde(default)]
    pub headers: Vec<ValueMatchSpec>,
    /// All header conditions must hold (default: any).
    #[serde(default)]
    pub match_all_header: bool,
    /// Method-level IP filter.
    #[serde(default)]
    pub ip_filter: Option<IpFilterSpec>,
}

/// Decodes the kind fields of a stored document (meta keys are not reported as unknown).
pub fn decode_spec(doc: &Value) -> Result<eg_spec::Decoded<GrpcServerSpec>, eg_spec::SpecError> {
    eg_spec::decode_kind::<GrpcServerSpec>(doc, "")
}
