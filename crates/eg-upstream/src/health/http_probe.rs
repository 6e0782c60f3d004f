//! The HTTP probe of a health check: a request built from `uri`/`path`, `port`, `method`,
//! `headers`, `body` and basic auth, and a `match` on the answer's status, headers and body.

use base64::Engine as _;
use bytes::Bytes;
use eg_protocols::Body;
use eg_spec::SpecError;
use http::header::{HeaderName, HeaderValue, AUTHORIZATION, HOST};
use http::uri::{Authority, PathAndQuery};
use http::{HeaderMap, Method, Request, Uri};
use http_body_util::BodyExt;
use regex::Regex;

use super::ProbeTarget;
use crate::connections::UpstreamClient;
use crate::spec::{HealthCheckSpec, HealthMatchSpec};

/// The statuses a healthy HTTP answer has when `match` does not say.
const DEFAULT_STATUS: (u16, u16) = (200, 399);

/// The most of a probe response body read for a body rule.
const MAX_PROBE_BODY: usize = 1 << 20;

/// A compiled HTTP probe.
#[derive(Debug)]
pub struct HttpProbe {
    method: Method,
    path: Option<PathAndQuery>,
    port: Option<u16>,
    headers: HeaderMap,
    host: Option<HeaderValue>,
    body: Bytes,
    rules: MatchRules,
}

/// A compiled `match`: status ranges, header rules, body rule.
#[derive(Debug)]
pub(super) struct MatchRules {
    status: Vec<(u16, u16)>,
    headers: Vec<(HeaderName, ValueRule)>,
    body: Option<BodyRule>,
}

#[derive(Debug)]
enum ValueRule {
    Exact(String),
    Regexp(Regex),
}

#[derive(Debug)]
pub(super) enum BodyRule {
    Contains(String),
    Regexp(Regex),
}

impl HttpProbe {
    /// Checks and compiles the probe fields of `spec`; errors name fields under `path`
    /// (the `healthCheck` field).
    pub fn compile(spec: &HealthCheckSpec, path: &str) -> Result<HttpProbe, SpecError> {
        let field = |f: &str| format!("{path}.{f}");
        if !(0..=i64::from(u16::MAX)).contains(&spec.port) {
            return Err(SpecError::new(
                field("port"),
                format!("invalid port: {}", spec.port),
            ));
        }
        let port = (spec.port != 0).then_some(spec.port as u16);
        let uri_text = if spec.uri.is_empty() {
            &spec.path
        } else {
            &spec.uri
        };
        let path_q = if uri_text.is_empty() {
            None
        } else {
            let f = if spec.uri.is_empty() { "path" } else { "uri" };
            let pq: PathAndQuery = uri_text
                .parse()
                .map_err(|e| SpecError::new(field(f), format!("invalid uri: {e}")))?;
            if !pq.as_str().starts_with('/') {
                return Err(SpecError::new(field(f), "must start with /"));
            }
            Some(pq)
        };
        let method = if spec.method.is_empty() {
            Method::GET
        } else {
            eg_protocols::standard_method(&spec.method).ok_or_else(|| {
                SpecError::new(field("method"), format!("invalid method: {}", spec.method))
            })?
        };
        if !spec.username.is_empty() && spec.password.is_empty() {
            return Err(SpecError::new(field("password"), "empty password"));
        }
        if spec.username.is_empty() && !spec.password.is_empty() {
            return Err(SpecError::new(field("username"), "empty username"));
        }
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
        if !spec.username.is_empty() {
            let token = base64::engine::general_purpose::STANDARD
                .encode(format!("{}:{}", spec.username, spec.password));
            let v = HeaderValue::from_str(&format!("Basic {token}"))
                .map_err(|_| SpecError::new(field("username"), "invalid credentials"))?;
            headers.insert(AUTHORIZATION, v);
        }
        let rules = compile_rules(spec.matches.as_ref(), &field("match"), DEFAULT_STATUS)?;
        Ok(HttpProbe {
            method,
            path: path_q,
            port,
            headers,
            host,
            body: Bytes::from(spec.body.clone()),
            rules,
        })
    }

    fn request(&self, t: &ProbeTarget) -> Option<Request<Body>> {
        let authority = match self.port {
            Some(p) => {
                let host = t.authority.host();
                let text = if host.contains(':') && !host.starts_with('[') {
                    format!("[{host}]:{p}")
                } else {
                    format!("{host}:{p}")
                };
                text.parse::<Authority>().ok()?
            }
            None => t.authority.clone(),
        };
        let pq = self.path.clone().unwrap_or_else(|| t.server_path.clone());
        let uri = Uri::builder()
            .scheme(t.scheme.clone())
            .authority(authority.clone())
            .path_and_query(pq)
            .build()
            .ok()?;
        let mut req = Request::builder()
            .method(self.method.clone())
            .uri(uri)
            .body(Body::full(self.body.clone()))
            .ok()?;
        *req.headers_mut() = self.headers.clone();
        let host = match &self.host {
            Some(h) => h.clone(),
            None => HeaderValue::from_str(authority.as_str()).ok()?,
        };
        req.headers_mut().insert(HOST, host);
        Some(req)
    }

    /// Probes one server: `Some(true)` when the answer matches; `None` when no answer
    /// came (the request could not be built or sent, or the body could not be read).
    pub async fn probe(&self, client: &UpstreamClient, t: &ProbeTarget) -> Option<bool> {
        let req = self.request(t)?;
        let resp = client.fresh.request(req).await.ok()?;
        let (head, body) = resp.into_parts();
        if !self.rules.head_matches(head.status.as_u16(), &head.headers) {
            return Some(false);
        }
        let Some(rule) = &self.rules.body else {
            return Some(true);
        };
        let bytes = http_body_util::Limited::new(body, MAX_PROBE_BODY)
            .collect()
            .await
            .ok()?
            .to_bytes();
        Some(rule.matches(&String::from_utf8_lossy(&bytes)))
    }
}

impl MatchRules {
    /// Whether `status` is in a range and every header rule holds for `headers`.
    pub(super) fn head_matches(&self, status: u16, headers: &HeaderMap) -> bool {
        if !self
            .status
            .iter()
            .any(|&(lo, hi)| lo <= status && status <= hi)
        {
            return false;
        }
        self.headers.iter().all(|(name, rule)| {
            let v = headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            match rule {
                ValueRule::Exact(e) => v == e,
                ValueRule::Regexp(r) => r.is_match(v),
            }
        })
    }

    /// The body rule, if any.
    pub(super) fn body(&self) -> Option<&BodyRule> {
        self.body.as_ref()
    }
}

impl BodyRule {
    /// Whether `text` satisfies the rule.
    pub(super) fn matches(&self, text: &str) -> bool {
        match self {
            BodyRule::Contains(s) => text.contains(s.as_str()),
            BodyRule::Regexp(r) => r.is_match(text),
        }
    }
}

/// Compiles a `match` (at `path`); statuses default to `default_status`.
pub(super) fn compile_rules(
    matches: Option<&HealthMatchSpec>,
    path: &str,
    default_status: (u16, u16),
) -> Result<MatchRules, SpecError> {
    let Some(m) = matches else {
        return Ok(MatchRules {
            status: vec![default_status],
            headers: Vec::new(),
            body: None,
        });
    };
    let mut status = Vec::with_capacity(m.status_codes.len());
    for (i, r) in m.status_codes.iter().enumerate() {
        let bad = || {
            SpecError::new(
                format!("{path}.statusCodes[{i}]"),
                format!("invalid status code range: {r:?} (expected [low, high])"),
            )
        };
        if r.len() != 2 || r[0] > r[1] || r[0] < 0 || r[1] > 999 {
            return Err(bad());
        }
        status.push((r[0] as u16, r[1] as u16));
    }
    if status.is_empty() {
        status.push(default_status);
    }
    let mut headers = Vec::with_capacity(m.headers.len());
    for (i, h) in m.headers.iter().enumerate() {
        let hpath = format!("{path}.headers[{i}]");
        if h.name.is_empty() {
            return Err(SpecError::new(
                format!("{hpath}.name"),
                "empty match header name",
            ));
        }
        let name = HeaderName::from_bytes(h.name.as_bytes())
            .map_err(|_| SpecError::new(format!("{hpath}.name"), "invalid header name"))?;
        let rule = match h.kind.as_str() {
            "" | "exact" => ValueRule::Exact(h.value.clone()),
            "regexp" => ValueRule::Regexp(Regex::new(&h.value).map_err(|e| {
                SpecError::new(format!("{hpath}.value"), format!("invalid regexp: {e}"))
            })?),
            other => {
                return Err(SpecError::new(
                    format!("{hpath}.type"),
                    format!("invalid match header type {other:?}: use exact or regexp"),
                ))
            }
        };
        headers.push((name, rule));
    }
    let body = match &m.body {
        None => None,
        Some(b) => Some(match b.kind.as_str() {
            "" | "contains" => BodyRule::Contains(b.value.clone()),
            "regexp" => BodyRule::Regexp(Regex::new(&b.value).map_err(|e| {
                SpecError::new(format!("{path}.body.value"), format!("invalid regexp: {e}"))
            })?),
            other => {
                return Err(SpecError::new(
                    format!("{path}.body.type"),
                    format!("invalid match body type {other:?}: use contains or regexp"),
                ))
            }
        }),
    };
    Ok(MatchRules {
        status,
        headers,
        body,
    })
}
