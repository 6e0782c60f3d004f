//! The YAML types every proxy filter shares, as Easegress writes them: servers, load
//! balancing, health checks, request matchers and upstream mTLS.
//!
//! These types only describe the document; checking values and compiling them into the
//! runtime structures happens in the modules that use them ([`crate::servers`],
//! [`crate::server`], [`crate::balance`], [`crate::matcher`], [`crate::health`],
//! [`crate::connections`]), each naming the field at fault.

use std::collections::BTreeMap;
use std::time::Duration;

use eg_spec::{GoDuration, StringMatcherSpec};
use serde::{Deserialize, Deserializer};

/// One upstream server.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServerSpec {
    /// `http://host[:port][/path]` or `https://...`. Required.
    pub url: String,
    /// Tags for `serverTags`.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Weight for `weightedRandom` (0-100; all servers or none).
    #[serde(default)]
    pub weight: i64,
    /// Send the client's `Host` to this server.
    #[serde(default)]
    pub keep_host: bool,
}

/// `loadBalance`.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoadBalanceSpec {
    /// `roundRobin` (default), `random`, `weightedRandom`, `ipHash`, `headerHash`,
    /// `cookieHash`.
    #[serde(default)]
    pub policy: String,
    /// Header hashed by `headerHash`.
    #[serde(default)]
    pub header_hash_key: String,
    /// GRPCProxy only (accepted, unused).
    #[serde(default)]
    pub forward_key: String,
    /// Sticky sessions: requests carrying a session cookie go back to the same server.
    #[serde(default)]
    pub sticky_session: Option<StickySessionSpec>,
    /// Legacy place of the health check.
    #[serde(default)]
    pub health_check: Option<HealthCheckSpec>,
}

/// `loadBalance.stickySession`.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StickySessionSpec {
    /// `CookieConsistentHash`, `DurationBased` or `ApplicationBased`. Required.
    #[serde(default)]
    pub mode: String,
    /// The application's cookie: hashed by `CookieConsistentHash`; its presence in a
    /// response makes `ApplicationBased` set the load balancer's cookie. Required by both.
    #[serde(default)]
    pub app_cookie_name: String,
    /// The load balancer's cookie (`DurationBased`, `ApplicationBased`); default
    /// `EG_SESSION`.
    #[serde(default)]
    pub lb_cookie_name: String,
    /// Lifetime of the load balancer's cookie; default (and when 0) 2h.
    #[serde(default, deserialize_with = "opt_duration")]
    #[schemars(with = "Option<eg_spec::GoDuration>")]
    pub lb_cookie_expire: Option<Duration>,
}

/// A request matcher (`filter` of a pool).
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RequestMatcherSpec {
    /// `general` (default), `ipHash`, `headerHash` or `random`.
    #[serde(default)]
    pub policy: String,
    /// `general`: all headers must match instead of any.
    #[serde(default)]
    pub match_all_headers: bool,
    /// `general`: header name → matcher. Required for `general`.
    #[serde(default)]
    pub headers: BTreeMap<String, StringMatcherSpec>,
    /// `ipHash`/`headerHash`/`random`: share of requests in 1..=1000.
    #[serde(default)]
    pub permil: i64,
    /// `headerHash`: the header hashed.
    #[serde(default)]
    pub header_hash_key: String,
    /// `general`: method and path rules, any of which must match too.
    #[serde(default)]
    pub urls: Vec<UrlMatcherSpec>,
    /// `general`, gRPC proxies only: full-method (`/package.Service/Method`) matchers, any
    /// of which must match too.
    #[serde(default)]
    pub methods: Vec<StringMatcherSpec>,
}

/// One `urls[]` entry of a request matcher.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UrlMatcherSpec {
    /// Methods; empty = any.
    #[serde(default)]
    pub methods: Vec<String>,
    /// Path matcher. Required.
    pub url: StringMatcherSpec,
}

/// `healthCheck` of a pool (and the legacy `loadBalance.healthCheck`).
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HealthCheckSpec {
    /// Time between checks; default 60s.
    #[serde(default, deserialize_with = "opt_duration")]
    #[schemars(with = "Option<eg_spec::GoDuration>")]
    pub interval: Option<Duration>,
    /// Deadline of one probe; default 3s.
    #[serde(default, deserialize_with = "opt_duration")]
    #[schemars(with = "Option<eg_spec::GoDuration>")]
    pub timeout: Option<Duration>,
    /// Consecutive failures before a server is taken out; default 1.
    #[serde(default)]
    pub fails: i64,
    /// Consecutive successes before it is put back; default 1 (`pass` accepted too).
    #[serde(default, alias = "pass")]
    pub passes: i64,
    /// Legacy probe path (used when `uri` is empty).
    #[serde(default)]
    pub path: String,
    /// Probe port; default the server's.
    #[serde(default)]
    pub port: i64,
    /// Probe path and query; default the server URL's.
    #[serde(default)]
    pub uri: String,
    /// Probe method; default GET.
    #[serde(default)]
    pub method: String,
    /// Probe headers (`Host` sets the host).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Probe body.
    #[serde(default)]
    pub body: String,
    /// Basic auth user.
    #[serde(default)]
    pub username: String,
    /// Basic auth password.
    #[serde(default)]
    pub password: String,
    /// What a healthy answer looks like; default any 2xx/3xx status.
    #[serde(default, rename = "match")]
    pub matches: Option<HealthMatchSpec>,
}

/// `healthCheck.match`.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HealthMatchSpec {
    /// Inclusive `[low, high]` status ranges; default `[[200, 399]]`.
    #[serde(default)]
    pub status_codes: Vec<Vec<i64>>,
    /// Header rules, all of which must hold.
    #[serde(default)]
    pub headers: Vec<HeaderMatchSpec>,
    /// Body rule.
    #[serde(default)]
    pub body: Option<BodyMatchSpec>,
}

/// A header rule of a health check.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HeaderMatchSpec {
    /// Header name. Required.
    #[serde(default)]
    pub name: String,
    /// Expected value or expression.
    #[serde(default)]
    pub value: String,
    /// `exact` (default) or `regexp`.
    #[serde(default, rename = "type")]
    pub kind: String,
}

/// The body rule of a health check.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BodyMatchSpec {
    /// Expected substring or expression.
    #[serde(default)]
    pub value: String,
    /// `contains` (default) or `regexp`.
    #[serde(default, rename = "type")]
    pub kind: String,
}

/// `mtls`: client certificate for upstream TLS.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MtlsSpec {
    /// Base64 of the client certificate chain (PEM). Required.
    pub cert_base64: String,
    /// Base64 of the client key (PEM). Required.
    pub key_base64: String,
    /// Base64 of the CA certificates that sign upstream certificates (PEM). Required.
    pub root_cert_base64: String,
    /// Skip verification of upstream certificates.
    #[serde(default)]
    pub insecure_skip_verify: bool,
}

/// A Go duration string where `""` (and a missing field) means "not set".
pub fn opt_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    let s: Option<String> = Option::deserialize(d)?;
    match s.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => GoDuration::parse(text)
            .map(|g| Some(g.get()))
            .map_err(serde::de::Error::custom),
    }
}
