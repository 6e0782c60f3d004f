//! The YAML/JSON form of an `HTTPServer`, decoded with field paths.

use std::collections::BTreeMap;

use eg_spec::{GoDuration, IpFilterSpec};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Default `keepAliveTimeout`.
pub const DEFAULT_KEEP_ALIVE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);
/// Default `maxConnections`.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 10240;
/// The request body limit used when `clientMaxBodySize` is 0 (4 MiB).
pub const DEFAULT_CLIENT_MAX_BODY_SIZE: i64 = 4 * 1024 * 1024;
/// `clientMaxBodySize` value that streams the body without a limit.
pub const STREAM_BODY: i64 = -1;
/// The access-log format used when `accessLogFormat` is empty.
pub const DEFAULT_ACCESS_LOG_FORMAT: &str = "[{{Time}}] [{{RemoteAddr}} {{RealIP}} {{Method}} {{URI}} {{Proto}} {{StatusCode}}] [{{Duration}} rx:{{ReqSize}}B tx:{{RespSize}}B] [{{Tags}}]";

/// Router kind names.
pub const ROUTER_ORDERED: &str = "Ordered";
/// Router kind names.
pub const ROUTER_RADIX_TREE: &str = "RadixTree";

fn default_true() -> bool {
    true
}

/// The kind fields of an `HTTPServer` spec.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HttpServerSpec {
    /// Listening port, 1..65535 (required).
    #[serde(default)]
    pub port: Option<i64>,
    /// Bind address; empty = all interfaces.
    #[serde(default)]
    pub address: String,
    /// Serve TLS (HTTP/1.1 and HTTP/2 via ALPN).
    #[serde(default)]
    pub https: bool,
    /// Not supported: HTTP/3 is refused at validation.
    #[serde(default)]
    pub http3: bool,
    /// Not supported: certificates from an AutoCertManager are refused at validation.
    #[serde(default)]
    pub auto_cert: bool,
    /// Keep connections open between requests (default true).
    #[serde(default = "default_true")]
    pub keep_alive: bool,
    /// Idle time after which a kept-alive connection is closed (default 60s).
    #[serde(default)]
    pub keep_alive_timeout: Option<GoDuration>,
    /// Most connections served at once (default 10240); more wait in the accept backlog.
    #[serde(default)]
    pub max_connections: Option<u32>,
    /// Request body limit in bytes: 0 = 4 MiB, -1 = stream without limit.
    #[serde(default)]
    pub client_max_body_size: i64,
    /// Route-decision cache slots (0 = off).
    #[serde(default)]
    pub cache_size: u32,
    /// Append the client IP to `X-Forwarded-For`.
    #[serde(default)]
    pub x_forwarded_for: bool,
    /// Base64 PEM certificate (with `keyBase64`).
    #[serde(default)]
    pub cert_base64: String,
    /// Base64 PEM private key (with `certBase64`).
    #[serde(default)]
    pub key_base64: String,
    /// More certificates by name (PEM, base64 or plain); SNI picks one.
    #[serde(default)]
    pub certs: BTreeMap<String, String>,
    /// The private key of each entry of `certs`, under the same name.
    #[serde(default)]
    pub keys: BTreeMap<String, String>,
    /// Base64 PEM CA bundle; when set, clients must present a certificate it signed.
    #[serde(default)]
    pub ca_cert_base64: String,
    /// Server-level IP filter (403 when it refuses).
    #[serde(default)]
    pub ip_filter: Option<IpFilterSpec>,
    /// `Ordered` (default) or `RadixTree`.
    #[serde(default)]
    pub router_kind: String,
    /// The routing rules.
    #[serde(default)]
    pub rules: Vec<RuleSpec>,
    /// Name of a `GlobalFilter` wrapped around every pipeline.
    #[serde(default)]
    pub global_filter: String,
    /// Access-log line format (see the docs for variables).
    #[serde(default)]
    pub access_log_format: String,
    /// Proxies (addresses or CIDRs) whose `X-Forwarded-For`/`X-Real-Ip` are believed.
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    /// OpenTelemetry tracing of the requests (off when absent).
    #[serde(default)]
    pub tracing: Option<eg_tracing::TracingSpec>,
}

/// One host condition of a rule.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HostSpec {
    /// The host (exact or with one leading/trailing `*`), or a regexp.
    #[serde(default)]
    pub value: String,
    /// `value` is a regular expression.
    #[serde(default)]
    pub is_regexp: bool,
}

/// A routing rule: hosts, an IP filter and paths.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RuleSpec {
    /// Host to match (exact, `*.example.com` or `www.example.*`).
    #[serde(default)]
    pub host: String,
    /// Host regular expression.
    #[serde(default)]
    pub host_regexp: String,
    /// More hosts; any may match. No hosts at all = any host.
    #[serde(default)]
    pub hosts: Vec<HostSpec>,
    /// Rule-level IP filter.
    #[serde(default)]
    pub ip_filter: Option<IpFilterSpec>,
    /// The paths, tried in order.
    #[serde(default)]
    pub paths: Vec<PathSpec>,
}

/// A path of a rule: how to match it and where it goes.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PathSpec {
    /// Exact path (RadixTree: a pattern with `{p}`, `{p:re}`, `*`).
    #[serde(default)]
    pub path: String,
    /// Path prefix.
    #[serde(default)]
    pub path_prefix: String,
    /// Path regular expression.
    #[serde(default)]
    pub path_regexp: String,
    /// New path sent to the pipeline.
    #[serde(default)]
    pub rewrite_target: String,
    /// Allowed methods; empty = all.
    #[serde(default)]
    pub methods: Vec<String>,
    /// Header conditions.
    #[serde(default)]
    pub headers: Vec<ValueMatchSpec>,
    /// All header conditions must hold (default: any).
    #[serde(default)]
    pub match_all_header: bool,
    /// Query conditions.
    #[serde(default)]
    pub queries: Vec<ValueMatchSpec>,
    /// All query conditions must hold (default: any).
    #[serde(default)]
    pub match_all_query: bool,
    /// Path-level IP filter.
    #[serde(default)]
    pub ip_filter: Option<IpFilterSpec>,
    /// The pipeline name.
    #[serde(default)]
    pub backend: String,
    /// An inline Proxy server pool; a pipeline is generated for it.
    #[serde(default)]
    pub backend_pool: Option<Value>,
    /// Body limit for this path (0 = the server's).
    #[serde(default)]
    pub client_max_body_size: i64,
    /// Request headers set when this path routes a request: name → value with NGINX-style
    /// variables (`$remote_addr`, `$http_<name>`, `${name:default}`, ...); an empty value
    /// deletes the header.
    #[serde(default)]
    pub set_headers: BTreeMap<String, String>,
}

/// A header or query condition: one of `values`, or `regexp`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ValueMatchSpec {
    /// Header or query name.
    #[serde(default)]
    pub key: String,
    /// Accepted values.
    #[serde(default)]
    pub values: Vec<String>,
    /// Accepted values as a regular expression.
    #[serde(default)]
    pub regexp: String,
}

/// Decodes the kind fields of a stored document (meta keys are not reported as unknown).
pub fn decode_spec(doc: &Value) -> Result<eg_spec::Decoded<HttpServerSpec>, eg_spec::SpecError> {
    eg_spec::decode_kind::<HttpServerSpec>(doc, "")
}

/// The name of the pipeline generated for `rules[rule].paths[path].backendPool`.
pub fn generated_pipeline_name(server: &str, rule: usize, path: usize) -> String {
    format!("GENERATED-{server}-{rule}-{path}")
}
