//! Active HTTP health checks of a pool's servers.
//!
//! Each pool with a `healthCheck` runs one background task (started by `Filter::init`,
//! stopped by `Filter::close`) that probes every server immediately and then every
//! `interval`. A server leaves the load balancer after `fails` consecutive failed probes and
//! comes back after `passes` consecutive good ones. The load balancer reads the healthy set
//! through an `ArcSwap`, so the request path takes no lock.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use base64::Engine as _;
use bytes::Bytes;
use eg_protocols::Body;
use eg_spec::SpecError;
use http::header::{HeaderName, HeaderValue, AUTHORIZATION, HOST};
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{HeaderMap, Method, Request, Uri};
use http_body_util::BodyExt;
use regex::Regex;

use super::client::UpstreamClient;
use super::loadbalance::HealthyGroup;
use super::matcher::parse_method;
use super::spec::HealthCheckSpec;

/// Default time between checks.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);
/// Default probe deadline.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3);
/// The most of a probe response body read for a body rule.
const MAX_PROBE_BODY: usize = 1 << 20;

/// Health of every server of a pool, and the group the load balancer uses.
#[derive(Debug)]
pub struct PoolHealth {
    states: Box<[ServerState]>,
    weights: Box<[u32]>,
    /// Server URLs, to match states across generations.
    urls: Box<[String]>,
    group: ArcSwap<HealthyGroup>,
}

#[derive(Debug, Default)]
struct ServerState {
    healthy: AtomicBool,
    /// Consecutive results: positive = successes, negative = failures.
    counter: AtomicI32,
}

impl PoolHealth {
    /// All servers healthy.
    pub fn new(urls: Vec<String>, weights: Vec<u32>) -> PoolHealth {
        let states: Box<[ServerState]> = urls
            .iter()
            .map(|_| ServerState {
                healthy: AtomicBool::new(true),
                counter: AtomicI32::new(0),
            })
            .collect();
        let group = HealthyGroup::new((0..urls.len()).collect(), &weights);
        PoolHealth {
            states,
            weights: weights.into(),
            urls: urls.into(),
            group: ArcSwap::from_pointee(group),
        }
    }

    /// The servers taking traffic now.
    #[inline]
    pub fn group(&self) -> arc_swap::Guard<Arc<HealthyGroup>> {
        self.group.load()
    }

    /// Whether server `i` is healthy.
    pub fn is_healthy(&self, i: usize) -> bool {
        self.states[i].healthy.load(Ordering::Relaxed)
    }

    /// Takes over the health of `prev` (the same pool of the previous generation) when it
    /// has the same servers.
    pub fn inherit(&self, prev: &PoolHealth) {
        if prev.urls != self.urls {
            return;
        }
        for (s, p) in self.states.iter().zip(prev.states.iter()) {
            s.healthy
                .store(p.healthy.load(Ordering::Relaxed), Ordering::Relaxed);
            s.counter
                .store(p.counter.load(Ordering::Relaxed), Ordering::Relaxed);
        }
        self.rebuild();
    }

    fn rebuild(&self) {
        let idx = (0..self.states.len())
            .filter(|&i| self.is_healthy(i))
            .collect();
        self.group
            .store(Arc::new(HealthyGroup::new(idx, &self.weights)));
    }

    /// Records one probe result of server `i`; returns true if its health changed.
    fn record(&self, i: usize, ok: bool, fails: i32, passes: i32) -> bool {
        let st = &self.states[i];
        let mut c = st.counter.load(Ordering::Relaxed);
        let healthy = st.healthy.load(Ordering::Relaxed);
        if ok {
            c = c.max(0).saturating_add(1);
            st.counter.store(c, Ordering::Relaxed);
            if !healthy && c >= passes {
                tracing::warn!(server = %self.urls[i], "server becomes healthy");
                st.healthy.store(true, Ordering::Relaxed);
                return true;
            }
        } else {
            c = c.min(0).saturating_sub(1);
            st.counter.store(c, Ordering::Relaxed);
            if healthy && c <= -fails {
                tracing::warn!(server = %self.urls[i], "server becomes unhealthy");
                st.healthy.store(false, Ordering::Relaxed);
                return true;
            }
        }
        false
    }
}

/// A compiled health check.
#[derive(Debug)]
pub struct HealthCheck {
    /// Time between rounds.
    pub interval: Duration,
    timeout: Duration,
    fails: i32,
    passes: i32,
    method: Method,
    path: Option<PathAndQuery>,
    port: Option<u16>,
    headers: HeaderMap,
    host: Option<HeaderValue>,
    body: Bytes,
    rules: MatchRules,
}

#[derive(Debug)]
struct MatchRules {
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
enum BodyRule {
    Contains(String),
    Regexp(Regex),
}

/// One server to probe.
#[derive(Debug, Clone)]
pub struct ProbeTarget {
    scheme: Scheme,
    authority: Authority,
    /// The server URL's own path (used when the check has no `uri`).
    server_path: PathAndQuery,
}

impl ProbeTarget {
    /// A target from a server's parsed URL parts.
    pub fn new(scheme: Scheme, authority: Authority, server_path: &str) -> ProbeTarget {
        let server_path = if server_path.is_empty() {
            PathAndQuery::from_static("/")
        } else {
            server_path
                .parse()
                .unwrap_or(PathAndQuery::from_static("/"))
        };
        ProbeTarget {
            scheme,
            authority,
            server_path,
        }
    }
}

impl HealthCheck {
    /// Checks and compiles `spec`; errors name fields under `path`.
    pub fn compile(spec: &HealthCheckSpec, path: &str) -> Result<HealthCheck, SpecError> {
        let field = |f: &str| format!("{path}.{f}");
        let interval = spec
            .interval
            .filter(|d| !d.is_zero())
            .unwrap_or(DEFAULT_INTERVAL);
        let timeout = spec
            .timeout
            .filter(|d| !d.is_zero())
            .unwrap_or(DEFAULT_TIMEOUT);
        if spec.fails < 0 {
            return Err(SpecError::new(field("fails"), "must be at least 1"));
        }
        if spec.passes < 0 {
            return Err(SpecError::new(field("passes"), "must be at least 1"));
        }
        let fails = i32::try_from(spec.fails.max(1)).unwrap_or(i32::MAX);
        let passes = i32::try_from(spec.passes.max(1)).unwrap_or(i32::MAX);
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
            parse_method(&spec.method).ok_or_else(|| {
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
        let rules = compile_rules(spec, &field("match"))?;
        Ok(HealthCheck {
            interval,
            timeout,
            fails,
            passes,
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

    /// Probes one server: true when it answered in time and the answer matches.
    pub async fn probe(&self, client: &UpstreamClient, t: &ProbeTarget) -> bool {
        let Some(req) = self.request(t) else {
            return false;
        };
        let work = async {
            let resp = client.fresh.request(req).await.ok()?;
            let (head, body) = resp.into_parts();
            let status = head.status.as_u16();
            if !self
                .rules
                .status
                .iter()
                .any(|&(lo, hi)| lo <= status && status <= hi)
            {
                return Some(false);
            }
            for (name, rule) in &self.rules.headers {
                let v = head
                    .headers
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                let ok = match rule {
                    ValueRule::Exact(e) => v == e,
                    ValueRule::Regexp(r) => r.is_match(v),
                };
                if !ok {
                    return Some(false);
                }
            }
            let Some(rule) = &self.rules.body else {
                return Some(true);
            };
            let bytes = http_body_util::Limited::new(body, MAX_PROBE_BODY)
                .collect()
                .await
                .ok()?
                .to_bytes();
            let text = String::from_utf8_lossy(&bytes);
            Some(match rule {
                BodyRule::Contains(s) => text.contains(s.as_str()),
                BodyRule::Regexp(r) => r.is_match(&text),
            })
        };
        matches!(
            tokio::time::timeout(self.timeout, work).await,
            Ok(Some(true))
        )
    }

    /// One round: probes every server concurrently and updates `health`.
    pub async fn round(
        self: &Arc<Self>,
        client: &Arc<UpstreamClient>,
        targets: &Arc<[ProbeTarget]>,
        health: &PoolHealth,
    ) {
        let mut set = tokio::task::JoinSet::new();
        for i in 0..targets.len() {
            let (hc, client, targets) = (self.clone(), client.clone(), targets.clone());
            set.spawn(async move { (i, hc.probe(&client, &targets[i]).await) });
        }
        let mut changed = false;
        while let Some(r) = set.join_next().await {
            if let Ok((i, ok)) = r {
                changed |= health.record(i, ok, self.fails, self.passes);
            }
        }
        if changed {
            health.rebuild();
        }
    }
}

fn compile_rules(spec: &HealthCheckSpec, path: &str) -> Result<MatchRules, SpecError> {
    let Some(m) = &spec.matches else {
        return Ok(MatchRules {
            status: vec![(200, 399)],
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
        status.push((200, 399));
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

/// The background checker of one pool.
pub struct Checker {
    /// The compiled check.
    pub check: Arc<HealthCheck>,
    /// One target per server (same order as the pool's servers).
    pub targets: Arc<[ProbeTarget]>,
    /// The client probes go through (never reusing connections).
    pub client: Arc<UpstreamClient>,
}

impl Checker {
    /// Starts the loop: a round now, then one every `interval`, until the handle is aborted.
    /// `None` outside a Tokio runtime.
    pub fn spawn(&self, health: Arc<PoolHealth>) -> Option<tokio::task::JoinHandle<()>> {
        let rt = tokio::runtime::Handle::try_current().ok()?;
        let (check, targets, client) = (
            self.check.clone(),
            self.targets.clone(),
            self.client.clone(),
        );
        Some(rt.spawn(async move {
            let mut ticker = tokio::time::interval(check.interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                check.round(&client, &targets, &health).await;
            }
        }))
    }
}
