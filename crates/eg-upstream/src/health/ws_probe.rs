//! The WebSocket probe of a health check (`healthCheck.ws` of a WebSocketProxy pool): an
//! opening handshake to `uri` on `port` with `headers`, healthy when the answer matches
//! `match` (by default: status 101). The session is closed at once with code 1000.

use std::collections::BTreeMap;
use std::sync::Arc;

use eg_spec::SpecError;
use http::header::{HeaderName, HeaderValue, HOST};
use http::uri::{Authority, PathAndQuery, Scheme};
use http::HeaderMap;
use serde::Deserialize;
use tokio::io::AsyncWriteExt;

use super::http_probe::{compile_rules, MatchRules};
use super::ProbeTarget;
use crate::connections::{open_websocket, DialError, Target, DIAL_TIMEOUT};
use crate::spec::{opt_duration, HealthCheckSpec, HealthMatchSpec};

/// The statuses a healthy WebSocket answer has when `match` does not say.
const DEFAULT_STATUS: (u16, u16) = (101, 101);

/// A masked close frame with code 1000 and no reason (mask key zero).
const CLOSE_FRAME: [u8; 8] = [0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8];

/// `healthCheck` of a WebSocketProxy pool: when to probe, and an HTTP probe, a WebSocket
/// probe or both (a server is healthy when every probe given passes).
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebSocketHealthCheckSpec {
    /// Time between checks; default 60s.
    #[serde(default, deserialize_with = "opt_duration")]
    #[schemars(with = "Option<eg_spec::GoDuration>")]
    pub interval: Option<std::time::Duration>,
    /// Deadline of one probe; default 3s.
    #[serde(default, deserialize_with = "opt_duration")]
    #[schemars(with = "Option<eg_spec::GoDuration>")]
    pub timeout: Option<std::time::Duration>,
    /// Consecutive failures before a server is taken out; default 1.
    #[serde(default)]
    pub fails: i64,
    /// Consecutive successes before it is put back; default 1 (`pass` accepted too).
    #[serde(default, alias = "pass")]
    pub passes: i64,
    /// The HTTP probe (to `http://` for `ws://` servers, `https://` for `wss://`).
    #[serde(default)]
    pub http: Option<HttpProbeSpec>,
    /// The WebSocket probe.
    #[serde(default)]
    pub ws: Option<WsProbeSpec>,
}

/// `healthCheck.http` of a WebSocketProxy pool: the fields of a Proxy's HTTP probe.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HttpProbeSpec {
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

impl HttpProbeSpec {
    /// The Proxy-style spec of this probe, for its compiler.
    pub(super) fn as_health_check(&self) -> HealthCheckSpec {
        HealthCheckSpec {
            port: self.port,
            uri: self.uri.clone(),
            method: self.method.clone(),
            headers: self.headers.clone(),
            body: self.body.clone(),
            username: self.username.clone(),
            password: self.password.clone(),
            matches: self.matches.clone(),
            ..HealthCheckSpec::default()
        }
    }
}

/// `healthCheck.ws`: the WebSocket probe.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WsProbeSpec {
    /// Probe port; default the server's.
    #[serde(default)]
    pub port: i64,
    /// Probe path and query; default the server URL's.
    #[serde(default)]
    pub uri: String,
    /// Handshake headers (`Host` sets the host).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// What a healthy answer looks like; default status 101.
    #[serde(default, rename = "match")]
    pub matches: Option<HealthMatchSpec>,
}

/// A compiled WebSocket probe.
#[derive(Debug)]
pub struct WsProbe {
    path: Option<PathAndQuery>,
    port: Option<u16>,
    headers: HeaderMap,
    host: Option<HeaderValue>,
    rules: MatchRules,
    tls: Arc<rustls::ClientConfig>,
}

impl WsProbe {
    /// Checks and compiles `spec` (at `path`, the `ws` field); `tls` serves `wss` servers.
    pub fn compile(
        spec: &WsProbeSpec,
        path: &str,
        tls: Arc<rustls::ClientConfig>,
    ) -> Result<WsProbe, SpecError> {
        let field = |f: &str| format!("{path}.{f}");
        if !(0..=i64::from(u16::MAX)).contains(&spec.port) {
            return Err(SpecError::new(
                field("port"),
                format!("invalid port: {}", spec.port),
            ));
        }
        let port = (spec.port != 0).then_some(spec.port as u16);
        let path_q = if spec.uri.is_empty() {
            None
        } else {
            let pq: PathAndQuery = spec
                .uri
                .parse()
                .map_err(|e| SpecError::new(field("uri"), format!("invalid uri: {e}")))?;
            if !pq.as_str().starts_with('/') {
                return Err(SpecError::new(field("uri"), "must start with /"));
            }
            Some(pq)
        };
        let mut headers = HeaderMap::new();
        let mut host = None;
        for (k, v) in &spec.headers {
            let hpath = format!("{path}.headers.{k}");
            let value = HeaderValue::from_str(v)
                .map_err(|_| SpecError::new(&hpath, "invalid header value"))?;
            if k.eq_ignore_ascii_case("host") {
                host = Some(value);
                continue;
            }
            let name = HeaderName::from_bytes(k.as_bytes())
                .map_err(|_| SpecError::new(&hpath, "invalid header name"))?;
            headers.insert(name, value);
        }
        let rules = compile_rules(spec.matches.as_ref(), &field("match"), DEFAULT_STATUS)?;
        Ok(WsProbe {
            path: path_q,
            port,
            headers,
            host,
            rules,
            tls,
        })
    }

    /// Probes one server: `Some(true)` when the handshake answer matches; `Some(false)`
    /// when the server answered without switching (or not as `match` says); `None` when
    /// it could not be reached.
    pub async fn probe(&self, t: &ProbeTarget) -> Option<bool> {
        let authority = match self.port {
            Some(p) => with_port(&t.authority, p)?,
            None => t.authority.clone(),
        };
        let target = Target {
            tls: t.scheme == Scheme::HTTPS,
            authority: authority.as_str().to_string(),
            host: authority
                .host()
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string(),
        };
        let pq = self.path.clone().unwrap_or_else(|| t.server_path.clone());
        let mut headers = self.headers.clone();
        let host = match &self.host {
            Some(h) => h.clone(),
            None => HeaderValue::from_str(authority.as_str()).ok()?,
        };
        headers.insert(HOST, host);
        match open_websocket(&target, pq.as_str(), headers, &self.tls, DIAL_TIMEOUT).await {
            Ok(mut opened) => {
                let ok = self.rules.head_matches(101, &opened.switched.headers)
                    && self.rules.body().is_none_or(|b| b.matches(""));
                let _ = opened.io.write_all(&CLOSE_FRAME).await;
                let _ = opened.io.shutdown().await;
                Some(ok)
            }
            Err(DialError::Refused(_)) | Err(DialError::Handshake(_)) => Some(false),
            Err(_) => None,
        }
    }
}

/// `authority` with its port replaced by `port`.
fn with_port(authority: &Authority, port: u16) -> Option<Authority> {
    let host = authority.host();
    let text = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    text.parse().ok()
}
