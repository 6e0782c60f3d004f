//! A server pool: its servers, load balancer, health, and the upstream call with Easegress's
//! failure → status mapping.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use eg_protocols::{fix_framing, Body, BodyError, Context, HttpRequest, HttpResponse, MessageKind};
use eg_spec::SpecError;
use eg_supervisor::Supervisor;
use http::header::{HeaderName, HeaderValue, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, HOST};
use http::uri::{self, Authority, PathAndQuery, Scheme};
use http::{HeaderMap, Method, Request, StatusCode, Uri, Version};
use parking_lot::Mutex;
use serde_json::{json, Value};

use super::circuitbreaker::{CircuitBreaker, Permit};
use super::client::{
    certificate_error, classify, classify_hyper, shared_client, ClientSettings, LogLimiter,
    MtlsMaterial, SendFailure, UpstreamClient,
};
use super::compression::{gzip_bytes, Compression, GzipBody};
use super::h1pool::{self, HostPool};
use super::healthcheck::{Checker, HealthCheck, PoolHealth, ProbeTarget};
use super::loadbalance::{LoadBalancer, Policy};
use super::matcher::RequestMatcher;
use super::metrics::PoolMetrics;
use super::resilience::{circuit_breaker_policy, retry_policy, RetryPolicy};
use super::spec::PoolSpec;
use super::{
    RESULT_CLIENT_ERROR, RESULT_FAILURE_CODE, RESULT_INTERNAL_ERROR, RESULT_SERVER_ERROR,
    RESULT_SHORT_CIRCUITED, RESULT_TIMEOUT,
};

/// Default `serverMaxBodySize`: 4 MiB.
pub const DEFAULT_SERVER_MAX_BODY_SIZE: u64 = 4 << 20;
/// Status for a client that went away before the answer (nginx's "Client Closed Request").
pub const STATUS_CLIENT_CLOSED_REQUEST: u16 = 499;
/// The maximum server weight.
const MAX_WEIGHT: i64 = 100;
/// At most one warning per server in this period about its TLS certificate.
const TLS_WARN_EVERY: Duration = Duration::from_secs(10);

/// Headers that belong to one connection and are never forwarded.
static HOP_BY_HOP: [HeaderName; 9] = [
    CONNECTION,
    HeaderName::from_static("proxy-connection"),
    HeaderName::from_static("keep-alive"),
    http::header::PROXY_AUTHENTICATE,
    http::header::PROXY_AUTHORIZATION,
    http::header::TE,
    http::header::TRAILER,
    http::header::TRANSFER_ENCODING,
    http::header::UPGRADE,
];

/// The index of `name` in [`HOP_BY_HOP`], by its (lower-case) text.
fn hop_by_hop_index(name: &HeaderName) -> Option<usize> {
    Some(match name.as_str() {
        "connection" => 0,
        "proxy-connection" => 1,
        "keep-alive" => 2,
        "proxy-authenticate" => 3,
        "proxy-authorization" => 4,
        "te" => 5,
        "trailer" => 6,
        "transfer-encoding" => 7,
        "upgrade" => 8,
        _ => return None,
    })
}

/// Removes hop-by-hop headers, including those named by `Connection`.
///
/// Most messages carry none or only `Connection`: one pass over the names finds out, so
/// the map is only searched for the names that are there.
pub fn remove_hop_by_hop(h: &mut HeaderMap) {
    // Bit i set: HOP_BY_HOP[i] is present.
    let mut present = 0u16;
    for k in h.keys() {
        if let Some(i) = hop_by_hop_index(k) {
            present |= 1 << i;
        }
    }
    if present == 0 {
        return;
    }
    if present & 1 != 0 {
        let listed: Vec<HeaderName> = h
            .get_all(CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            // The usual tokens name no header (or one removed below anyway).
            .filter(|t| !t.eq_ignore_ascii_case("keep-alive") && !t.eq_ignore_ascii_case("close"))
            .filter_map(|t| HeaderName::from_bytes(t.as_bytes()).ok())
            .collect();
        for n in listed {
            h.remove(n);
        }
    }
    for (i, n) in HOP_BY_HOP.iter().enumerate() {
        if present & (1 << i) != 0 {
            h.remove(n);
        }
    }
}

/// One upstream server, with everything the request path needs precomputed.
#[derive(Debug)]
pub struct Server {
    /// The URL as written.
    pub url: String,
    scheme: Scheme,
    authority: Authority,
    /// The URL's own path, prepended to the request path (`""` when none).
    prefix: Bytes,
    /// `Host` value naming this server.
    host: HeaderValue,
    /// False for IP-literal servers (they get the client's `Host`).
    addr_is_hostname: bool,
    keep_host: bool,
    /// The keep-alive connections of a plain-HTTP server (`None`: the generic client).
    fast: Option<Arc<HostPool>>,
    /// Paces the warnings about a certificate that fails verification.
    tls_warnings: LogLimiter,
}

impl Server {
    fn parse(url: &str, keep_host: bool, path: &str) -> Result<Server, SpecError> {
        let bad = |m: &str| SpecError::new(path, format!("invalid server URL {url:?}: {m}"));
        let (scheme_text, rest) = url
            .split_once("://")
            .ok_or_else(|| bad("must be http://host[:port][/path] or https://..."))?;
        let scheme = if scheme_text.eq_ignore_ascii_case("http") {
            Scheme::HTTP
        } else if scheme_text.eq_ignore_ascii_case("https") {
            Scheme::HTTPS
        } else {
            return Err(bad("scheme must be http or https"));
        };
        if rest.contains(['?', '#']) {
            return Err(bad("must not have a query or fragment"));
        }
        let (auth_text, prefix) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        if auth_text.is_empty() || auth_text.contains('@') {
            return Err(bad("missing host"));
        }
        let authority: Authority = auth_text.parse().map_err(|_| bad("bad host or port"))?;
        if authority.host().is_empty() {
            return Err(bad("missing host"));
        }
        let after_host = &auth_text[authority.host().len()..];
        if !after_host.is_empty() && authority.port_u16().is_none() {
            return Err(bad("bad port"));
        }
        if !prefix.is_empty() {
            prefix
                .parse::<PathAndQuery>()
                .map_err(|_| bad("bad path"))?;
        }
        let bare = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        let addr_is_hostname = bare.parse::<IpAddr>().is_err();
        let host = HeaderValue::from_str(authority.as_str()).map_err(|_| bad("bad host"))?;
        Ok(Server {
            url: url.to_string(),
            scheme,
            authority,
            prefix: Bytes::copy_from_slice(prefix.as_bytes()),
            host,
            addr_is_hostname,
            keep_host,
            fast: None,
            tls_warnings: LogLimiter::default(),
        })
    }
}

/// What a pool is built with besides its own spec.
pub struct PoolEnv<'a> {
    /// The running system (metrics, member).
    pub supervisor: &'a Supervisor,
    /// The pipeline's resilience policies.
    pub resilience: &'a serde_json::Map<String, Value>,
    /// The Proxy's `serverMaxBodySize`.
    pub server_max_body_size: i64,
    /// The Proxy's `insecureSkipVerify` (or `mtls.insecureSkipVerify`).
    pub insecure: bool,
    /// The Proxy's decoded `mtls`.
    pub mtls: Option<MtlsMaterial>,
    /// Idle connections per host.
    pub max_idle_per_host: usize,
}

/// A server pool ready to take requests.
pub struct Pool {
    /// `proxy#<filter>#main`, `proxy#<filter>#candidate#<i>` or `proxy#<filter>#mirror`.
    pub name: String,
    servers: Box<[Server]>,
    health: Arc<PoolHealth>,
    checker: Option<Checker>,
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
    lb: LoadBalancer,
    /// Which requests this pool takes (`None` for the main pool).
    pub matcher: Option<RequestMatcher>,
    set_upstream_host: bool,
    timeout: Option<Duration>,
    /// Failure statuses; empty = 500-599.
    failure_codes: Box<[u16]>,
    /// Response body limit; `None` = stream.
    max_body: Option<u64>,
    client: Arc<UpstreamClient>,
    retry: Option<RetryPolicy>,
    /// The circuit breaker around the (retried) call; swapped for the previous
    /// generation's breaker when the policy is the same.
    breaker: Option<arc_swap::ArcSwap<CircuitBreaker>>,
    metrics: PoolMetrics,
}

/// A failed attempt: the status to answer and the result to return.
#[derive(Debug, Clone, Copy)]
struct Failure(u16, &'static str);

/// A successful attempt: the upstream answer, already post-processed.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Body,
}

impl Pool {
    /// Checks and builds the pool at `path` (e.g. `filters[0].pools[1]`).
    pub fn build(
        spec: &PoolSpec,
        path: &str,
        name: String,
        env: &PoolEnv<'_>,
    ) -> Result<Pool, SpecError> {
        let field = |f: &str| format!("{path}.{f}");
        if !spec.service_name.is_empty() || !spec.service_registry.is_empty() {
            let f = if spec.service_name.is_empty() {
                "serviceRegistry"
            } else {
                "serviceName"
            };
            return Err(SpecError::new(
                field(f),
                "service registries are not supported yet: list the servers in `servers`",
            ));
        }
        if spec.servers.is_empty() {
            return Err(SpecError::new(
                field("servers"),
                "both serviceName and servers are empty",
            ));
        }
        let weighted = spec.servers.iter().filter(|s| s.weight > 0).count();
        if weighted > 0 && weighted < spec.servers.len() {
            return Err(SpecError::new(
                field("servers"),
                format!(
                    "not all servers have weight({weighted}/{})",
                    spec.servers.len()
                ),
            ));
        }
        let mut servers = Vec::with_capacity(spec.servers.len());
        let mut weights = Vec::with_capacity(spec.servers.len());
        for (k, s) in spec.servers.iter().enumerate() {
            let spath = format!("{path}.servers[{k}]");
            if !(0..=MAX_WEIGHT).contains(&s.weight) {
                return Err(SpecError::new(
                    format!("{spath}.weight"),
                    format!("weight {} is out of range 0-100", s.weight),
                ));
            }
            let server = Server::parse(&s.url, s.keep_host, &format!("{spath}.url"))?;
            if !spec.server_tags.is_empty() && !s.tags.iter().any(|t| spec.server_tags.contains(t))
            {
                continue;
            }
            servers.push(server);
            weights.push(s.weight as u32);
        }
        if servers.is_empty() {
            return Err(SpecError::new(
                field("serverTags"),
                "no server has any of these tags",
            ));
        }
        if let Some(lb) = &spec.load_balance {
            if lb.sticky_session.is_some() {
                tracing::warn!(pool = %name, "loadBalance.stickySession is not supported yet and is ignored");
            }
        }
        let policy = Policy::compile(
            spec.load_balance.as_ref(),
            &field("loadBalance"),
            weighted > 0,
        )?;
        let matcher = match &spec.filter {
            Some(f) => Some(RequestMatcher::compile(f, &field("filter"))?),
            None => None,
        };
        let mut failure_codes = Vec::with_capacity(spec.failure_codes.len());
        for (i, &c) in spec.failure_codes.iter().enumerate() {
            if !(100..=999).contains(&c) {
                return Err(SpecError::new(
                    format!("{path}.failureCodes[{i}]"),
                    format!("{c} is not an HTTP status code"),
                ));
            }
            failure_codes.push(c as u16);
        }
        let max_body_setting = if spec.server_max_body_size != 0 {
            spec.server_max_body_size
        } else {
            env.server_max_body_size
        };
        let max_body = match max_body_setting {
            0 => Some(DEFAULT_SERVER_MAX_BODY_SIZE),
            n if n < 0 => None,
            n => Some(n as u64),
        };
        let retry = if spec.retry_policy.is_empty() {
            None
        } else {
            Some(retry_policy(
                env.resilience,
                &spec.retry_policy,
                &field("retryPolicy"),
            )?)
        };
        let breaker = if spec.circuit_breaker_policy.is_empty() {
            None
        } else {
            let policy = circuit_breaker_policy(
                env.resilience,
                &spec.circuit_breaker_policy,
                &field("circuitBreakerPolicy"),
            )?;
            let cb = CircuitBreaker::new(policy, name.clone(), std::time::Instant::now());
            Some(arc_swap::ArcSwap::from_pointee(cb))
        };
        if spec.memory_cache.is_some() {
            tracing::warn!(pool = %name, "memoryCache is not supported yet and is ignored");
        }
        let settings = ClientSettings {
            insecure: spec.insecure_skip_verify.unwrap_or(env.insecure),
            mtls: env.mtls.clone(),
            max_idle_per_host: env.max_idle_per_host,
        };
        let client = shared_client(&settings).map_err(|e| SpecError::new(path, e))?;
        for s in &mut servers {
            if s.scheme == Scheme::HTTP {
                s.fast = Some(client.host_pool(&s.authority));
            }
        }
        let hc_spec = spec
            .health_check
            .as_ref()
            .map(|h| (h, field("healthCheck")))
            .or_else(|| {
                spec.load_balance
                    .as_ref()
                    .and_then(|lb| lb.health_check.as_ref())
                    .map(|h| (h, field("loadBalance.healthCheck")))
            });
        let checker = match hc_spec {
            Some((h, hpath)) => Some(Checker {
                check: Arc::new(HealthCheck::compile(h, &hpath)?),
                targets: servers
                    .iter()
                    .map(|s| {
                        let prefix = std::str::from_utf8(&s.prefix).unwrap_or("");
                        ProbeTarget::new(s.scheme.clone(), s.authority.clone(), prefix)
                    })
                    .collect(),
                client: client.clone(),
            }),
            None => None,
        };
        let lb_label = spec
            .load_balance
            .as_ref()
            .map(|l| l.policy.as_str())
            .unwrap_or("");
        let filter_label = spec
            .filter
            .as_ref()
            .map(|f| f.policy.as_str())
            .unwrap_or("");
        let metrics = PoolMetrics::new(
            env.supervisor.metrics(),
            env.supervisor.member(),
            &name,
            lb_label,
            filter_label,
        );
        let health = Arc::new(PoolHealth::new(
            servers.iter().map(|s| s.url.clone()).collect(),
            weights,
        ));
        Ok(Pool {
            name,
            servers: servers.into(),
            health,
            checker,
            task: Mutex::new(None),
            lb: LoadBalancer::new(policy),
            matcher,
            set_upstream_host: spec.set_upstream_host,
            timeout: spec.timeout.filter(|d| !d.is_zero()),
            failure_codes: failure_codes.into(),
            max_body,
            client,
            retry,
            breaker,
            metrics,
        })
    }

    /// Takes over health from `prev` and starts the health-check task.
    pub fn start(&self, prev: Option<&Pool>) {
        if let Some(p) = prev {
            self.health.inherit(&p.health);
            if let (Some(mine), Some(theirs)) = (&self.breaker, &p.breaker) {
                let theirs = theirs.load_full();
                if theirs.policy() == mine.load().policy() {
                    mine.store(theirs);
                }
            }
        }
        if let Some(c) = &self.checker {
            let handle = c.spawn(self.health.clone());
            if handle.is_none() {
                tracing::warn!(pool = %self.name, "no async runtime: health checks not started");
            }
            if let Some(old) = std::mem::replace(&mut *self.task.lock(), handle) {
                old.abort();
            }
        }
    }

    /// Stops the health-check task.
    pub fn stop(&self) {
        if let Some(t) = self.task.lock().take() {
            t.abort();
        }
    }

    /// Status: counts and server health.
    pub fn status(&self) -> Value {
        use std::sync::atomic::Ordering::Relaxed;
        let servers: Vec<Value> = self
            .servers
            .iter()
            .enumerate()
            .map(|(i, s)| json!({"url": s.url, "healthy": self.health.is_healthy(i)}))
            .collect();
        let mut s = json!({
            "name": self.name,
            "total": self.metrics.count.load(Relaxed),
            "errors": self.metrics.error_count.load(Relaxed),
            "servers": servers,
        });
        if let Some(b) = &self.breaker {
            s["circuitBreaker"] = json!(b.load().state().name());
        }
        s
    }

    /// Whether server `i` is healthy.
    #[cfg(test)]
    pub fn is_healthy(&self, i: usize) -> bool {
        self.health.is_healthy(i)
    }

    /// Whether an attempt counts as failed for retries and the circuit breaker: an error
    /// (except the client going away) or a status in `failureCodes`.
    fn attempt_failed(&self, r: &Result<(Answer, u64), Failure>) -> bool {
        match r {
            Ok((a, _)) => self.is_failure_code(a.status.as_u16()),
            Err(f) => f.1 != RESULT_CLIENT_ERROR,
        }
    }

    fn is_failure_code(&self, status: u16) -> bool {
        if self.failure_codes.is_empty() {
            (500..600).contains(&status)
        } else {
            self.failure_codes.contains(&status)
        }
    }

    /// Picks a server for `req`.
    pub fn choose(&self, req: &HttpRequest, real_ip: IpAddr) -> Option<&Server> {
        let group = self.health.group();
        self.lb
            .choose(&group, req, real_ip)
            .map(|i| &self.servers[i])
    }

    /// The request sent to `server` for `req` with `body`.
    fn upstream_request(
        &self,
        server: &Server,
        req: &HttpRequest,
        body: Body,
        origin_form: bool,
    ) -> Result<Request<Body>, http::Error> {
        let pq = match req.uri().path_and_query() {
            Some(pq) if server.prefix.is_empty() => pq.clone(),
            Some(pq) => {
                let mut b = BytesMut::with_capacity(server.prefix.len() + pq.as_str().len());
                b.extend_from_slice(&server.prefix);
                b.extend_from_slice(pq.as_str().as_bytes());
                PathAndQuery::from_maybe_shared(b.freeze())?
            }
            None if server.prefix.is_empty() => PathAndQuery::from_static("/"),
            None => PathAndQuery::from_maybe_shared(server.prefix.clone())?,
        };
        let mut parts = uri::Parts::default();
        // Absolute for the generic client (its pool key); origin-form on a HostPool
        // connection, which is what goes on the wire.
        if !origin_form {
            parts.scheme = Some(server.scheme.clone());
            parts.authority = Some(server.authority.clone());
        }
        parts.path_and_query = Some(pq);
        let uri = Uri::from_parts(parts)?;

        let mut headers = req.headers().clone();
        // The length of the body sent, never one a filter left behind or one that came
        // with Transfer-Encoding.
        fix_framing(&mut headers, MessageKind::Request, body.known_len());
        remove_hop_by_hop(&mut headers);
        // keepHost wins; then setUpstreamHost; IP-literal servers get the client's Host.
        let use_client_host =
            server.keep_host || (!server.addr_is_hostname && !self.set_upstream_host);
        if use_client_host {
            if !headers.contains_key(HOST) {
                let h = match req.uri().authority() {
                    Some(a) => {
                        HeaderValue::from_str(a.as_str()).unwrap_or_else(|_| server.host.clone())
                    }
                    None => server.host.clone(),
                };
                headers.insert(HOST, h);
            }
        } else {
            headers.insert(HOST, server.host.clone());
        }

        let mut out = Request::new(body);
        *out.method_mut() = req.method().clone();
        *out.uri_mut() = uri;
        *out.version_mut() = Version::HTTP_11;
        *out.headers_mut() = headers;
        Ok(out)
    }

    /// Proxies the request of the active namespace of `ctx` and sets its response.
    pub async fn handle(
        &self,
        ctx: &mut Context,
        compression: Option<Compression>,
    ) -> &'static str {
        // The breaker wraps the retries: one permit, one outcome per request.
        let mut permit = None;
        if let Some(b) = &self.breaker {
            match BreakerCall::acquire(b.load_full()) {
                Some(p) => permit = Some(p),
                None => {
                    tracing::debug!(pool = %self.name, "short circuited by the circuit breaker");
                    ctx.add_tag("short circuited");
                    return self.fail(ctx, Failure(503, RESULT_SHORT_CIRCUITED), 0);
                }
            }
        }
        let Some(req) = ctx.request_mut() else {
            return self.fail(ctx, Failure(500, RESULT_INTERNAL_ERROR), 0);
        };
        let body = match &req.body {
            Body::Empty => Body::Empty,
            Body::Full(b) => Body::Full(b.clone()),
            _ => std::mem::take(&mut req.body),
        };
        let replay: Option<Bytes> = match &body {
            Body::Empty => Some(Bytes::new()),
            Body::Full(b) => Some(b.clone()),
            _ => None,
        };
        let req_size = body.known_len().unwrap_or_else(|| {
            req.headers()
                .get(CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        });

        let attempts = match (&self.retry, &replay) {
            (Some(r), Some(_)) => r.max_attempts.max(1),
            _ => 1,
        };
        let mut body = Some(body);
        let mut done = 0;
        let outcome = loop {
            let b = body
                .take()
                .unwrap_or_else(|| replay.clone().map(Body::full).unwrap_or_default());
            let r = self.attempt(ctx, b, replay.clone(), compression).await;
            done += 1;
            let failed = self.attempt_failed(&r);
            if !failed || done >= attempts {
                break r;
            }
            if let Some(p) = &self.retry {
                tokio::time::sleep(p.wait_before(done)).await;
            }
        };
        if let Some(p) = permit {
            match &outcome {
                Err(f) if f.1 == RESULT_CLIENT_ERROR => {} // no verdict on the upstream
                r => p.record(self.attempt_failed(r)),
            }
        }
        match outcome {
            Err(f) => self.fail(ctx, f, req_size),
            Ok((answer, resp_size)) => {
                let status = answer.status.as_u16();
                self.metrics.record(status, req_size, resp_size);
                set_response(ctx, answer);
                if self.is_failure_code(status) {
                    RESULT_FAILURE_CODE
                } else {
                    super::RESULT_OK
                }
            }
        }
    }

    /// Sets the failure status on the response (creating one if needed).
    fn fail(&self, ctx: &mut Context, f: Failure, req_size: u64) -> &'static str {
        self.metrics.record(f.0, req_size, 0);
        let status = StatusCode::from_u16(f.0).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        match ctx.response_mut() {
            Some(r) => r.status = status,
            None => ctx.set_response(HttpResponse::new(status)),
        }
        f.1
    }

    /// One upstream attempt, bounded by the pool `timeout`.
    ///
    /// Only `&mut Context` is held across awaits (shared borrows of the request are kept
    /// inside blocks), so the future stays `Send` while bodies are not `Sync`.
    async fn attempt(
        &self,
        ctx: &mut Context,
        body: Body,
        replay: Option<Bytes>,
        compression: Option<Compression>,
    ) -> Result<(Answer, u64), Failure> {
        let work = self.exchange(ctx, body, replay, compression);
        match self.timeout {
            Some(t) => match tokio::time::timeout(t, work).await {
                Ok(r) => r,
                Err(_) => Err(Failure(408, RESULT_TIMEOUT)),
            },
            None => work.await,
        }
    }

    async fn exchange(
        &self,
        ctx: &mut Context,
        body: Body,
        replay: Option<Bytes>,
        compression: Option<Compression>,
    ) -> Result<(Answer, u64), Failure> {
        let (server, upstream, idempotent, to_head, gzip_ok) = {
            let real_ip = ctx.real_ip;
            let Some(req) = ctx.request() else {
                return Err(Failure(500, RESULT_INTERNAL_ERROR));
            };
            let Some(server) = self.choose(req, real_ip) else {
                tracing::debug!(pool = %self.name, "no available server");
                return Err(Failure(503, RESULT_INTERNAL_ERROR));
            };
            let gzip_ok = compression
                .is_some_and(|_| Compression::client_accepts(req.method(), req.headers()));
            let upstream = self
                .upstream_request(server, req, body, server.fast.is_some())
                .map_err(internal)?;
            let to_head = req.method() == Method::HEAD;
            (
                server,
                upstream,
                is_idempotent(req.method()),
                to_head,
                gzip_ok,
            )
        };
        let sent = match &server.fast {
            Some(hp) => hp
                .send(upstream)
                .await
                .map(|s| (s.response, Some((hp, s.tx))))
                .map_err(UpstreamError::Fast),
            None => self
                .client
                .pooled
                .request(upstream)
                .await
                .map(|r| (r, None))
                .map_err(UpstreamError::Generic),
        };
        let (resp, conn) = match sent {
            Ok(r) => r,
            Err(e) => match e.failure() {
                SendFailure::ClientGone => {
                    return Err(Failure(STATUS_CLIENT_CLOSED_REQUEST, RESULT_CLIENT_ERROR))
                }
                SendFailure::StaleConnection if replay.is_some() && idempotent => {
                    let again = {
                        let Some(req) = ctx.request() else {
                            return Err(Failure(500, RESULT_INTERNAL_ERROR));
                        };
                        let b = replay.map(Body::full).unwrap_or_default();
                        self.upstream_request(server, req, b, false)
                            .map_err(internal)?
                    };
                    let r = self.client.fresh.request(again).await.map_err(|e| {
                        self.log_failure(server, &e);
                        failure_of(classify(&e))
                    })?;
                    (r, None)
                }
                f => {
                    self.log_failure(server, e.as_error());
                    return Err(failure_of(f));
                }
            },
        };
        // Upgrade is never forwarded, so a 101 answers a request that did not ask for one
        // (hyper hands on no other 1xx): passing it on would leave the client with a
        // connection in an unknown protocol. Its connection is not reused.
        if resp.status().is_informational() {
            tracing::debug!(
                pool = %self.name,
                server = %server.url,
                status = resp.status().as_u16(),
                "upstream answered with an informational status to a request that did not ask for it"
            );
            return Err(Failure(502, RESULT_SERVER_ERROR));
        }
        let (head, incoming) = resp.into_parts();
        let mut headers = head.headers;
        let status = head.status;
        let mut body = Body::Incoming(incoming);
        let streaming = self.max_body.is_none() || is_event_stream(&headers);
        if !streaming {
            if let Err(e) = body.buffer(self.max_body).await {
                match e {
                    BodyError::TooLarge { limit } => tracing::warn!(
                        pool = %self.name,
                        limit,
                        "response body larger than serverMaxBodySize; set it to -1 to stream"
                    ),
                    BodyError::Io(e) => {
                        tracing::debug!(pool = %self.name, error = %e, "response body read failed")
                    }
                }
                return Err(Failure(500, RESULT_INTERNAL_ERROR));
            }
        }
        // Transfer-Encoding wins over Content-Length (RFC 9112 §6.1), and the length the
        // client gets is that of the body it is sent.
        fix_framing(
            &mut headers,
            MessageKind::Response { status, to_head },
            body.known_len(),
        );
        remove_hop_by_hop(&mut headers);
        if let Some((hp, tx)) = conn {
            if body.is_buffered() {
                hp.put(tx);
            } else {
                hp.put_when_ready(tx);
            }
        }
        if let (true, Some(c)) = (gzip_ok, compression) {
            if c.response_wanted(status, &headers, body.known_len()) {
                Compression::mark(&mut headers);
                body = match body {
                    Body::Full(b) => Body::Full(gzip_bytes(&b).map_err(internal)?),
                    other => GzipBody::new(other).into_body(),
                };
            }
        }
        let resp_size = body.known_len().unwrap_or(0);
        Ok((
            Answer {
                status,
                headers,
                body,
            },
            resp_size,
        ))
    }

    /// Logs a failed upstream call: at debug, and at warn (paced per server) when the
    /// server's certificate failed verification, since that is a configuration problem.
    fn log_failure(&self, server: &Server, e: &(dyn std::error::Error + 'static)) {
        if let Some(cert) = certificate_error(e) {
            let now = std::time::Instant::now();
            if let Some(suppressed) = server.tls_warnings.allow(now, TLS_WARN_EVERY) {
                tracing::warn!(
                    pool = %self.name,
                    server = %server.url,
                    error = %cert,
                    suppressed,
                    "upstream TLS certificate verification failed"
                );
            }
        }
        tracing::debug!(pool = %self.name, server = %server.url, error = ?e, "upstream request failed");
    }

    /// Sends a copy of a request and discards the answer (mirror pools).
    pub async fn mirror(&self, req: HttpRequest, real_ip: IpAddr) {
        let Some(server) = self.choose(&req, real_ip) else {
            return;
        };
        let body = match &req.body {
            Body::Full(b) => Body::Full(b.clone()),
            _ => Body::Empty,
        };
        let Ok(upstream) = self.upstream_request(server, &req, body, false) else {
            return;
        };
        let work = async {
            if let Ok(resp) = self.client.pooled.request(upstream).await {
                let mut body = Body::Incoming(resp.into_body());
                let _ = body.buffer(None).await;
            }
        };
        match self.timeout {
            Some(t) => {
                let _ = tokio::time::timeout(t, work).await;
            }
            None => work.await,
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A call let through by a circuit breaker. Recording consumes it; dropping it unrecorded
/// (client gone, request cancelled) gives its half-open slot back.
struct BreakerCall {
    breaker: Arc<CircuitBreaker>,
    permit: Option<Permit>,
}

impl BreakerCall {
    fn acquire(breaker: Arc<CircuitBreaker>) -> Option<BreakerCall> {
        let permit = breaker.acquire(std::time::Instant::now())?;
        Some(BreakerCall {
            breaker,
            permit: Some(permit),
        })
    }

    fn record(mut self, failed: bool) {
        if let Some(p) = self.permit.take() {
            self.breaker.record(p, failed, std::time::Instant::now());
        }
    }
}

impl Drop for BreakerCall {
    fn drop(&mut self) {
        if let Some(p) = self.permit.take() {
            self.breaker.release(p);
        }
    }
}

/// A failed upstream call, from a [`HostPool`] connection or the generic client.
#[derive(Debug)]
enum UpstreamError {
    Fast(h1pool::SendError),
    Generic(hyper_util::client::legacy::Error),
}

impl UpstreamError {
    fn as_error(&self) -> &(dyn std::error::Error + 'static) {
        match self {
            UpstreamError::Fast(h1pool::SendError::Connect(e)) => e,
            UpstreamError::Fast(h1pool::SendError::Http(e)) => e,
            UpstreamError::Generic(e) => e,
        }
    }

    fn failure(&self) -> SendFailure {
        match self {
            UpstreamError::Fast(h1pool::SendError::Connect(_)) => SendFailure::Network,
            UpstreamError::Fast(h1pool::SendError::Http(e)) => classify_hyper(e),
            UpstreamError::Generic(e) => classify(e),
        }
    }
}

fn internal<E>(_: E) -> Failure {
    Failure(500, RESULT_INTERNAL_ERROR)
}

fn failure_of(f: SendFailure) -> Failure {
    match f {
        SendFailure::ClientGone => Failure(STATUS_CLIENT_CLOSED_REQUEST, RESULT_CLIENT_ERROR),
        SendFailure::StaleConnection | SendFailure::Network => Failure(503, RESULT_SERVER_ERROR),
    }
}

fn is_idempotent(m: &Method) -> bool {
    matches!(
        *m,
        Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS | Method::TRACE
    )
}

/// Server-sent events never end: they are streamed whatever `serverMaxBodySize` says.
fn is_event_stream(h: &HeaderMap) -> bool {
    h.get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"))
}

/// Stores the answer as the response of the active namespace, merging headers into an
/// existing response as Easegress does: `Access-Control-*` replaced, others appended.
fn set_response(ctx: &mut Context, a: Answer) {
    match ctx.response_mut() {
        None => ctx.set_response(HttpResponse {
            status: a.status,
            headers: a.headers,
            body: a.body,
        }),
        Some(existing) => {
            // The body is replaced: so is its framing.
            existing.headers.remove(CONTENT_LENGTH);
            existing.headers.remove(http::header::TRANSFER_ENCODING);
            let mut last: Option<HeaderName> = None;
            for (name, value) in a.headers {
                let (name, first) = match name {
                    Some(n) => (n, true),
                    None => match &last {
                        Some(n) => (n.clone(), false),
                        None => continue,
                    },
                };
                if first && name.as_str().starts_with("access-control-") {
                    existing.headers.insert(name.clone(), value);
                } else {
                    existing.headers.append(name.clone(), value);
                }
                last = Some(name);
            }
            existing.status = a.status;
            existing.body = a.body;
        }
    }
}

/// The unused-variable-free form of [`Server`] accessors for tests.
#[cfg(test)]
impl Server {
    pub(crate) fn addr_is_hostname(&self) -> bool {
        self.addr_is_hostname
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_urls() {
        let s = Server::parse("http://127.0.0.1:8080", false, "u").unwrap();
        assert!(!s.addr_is_hostname());
        assert_eq!(s.host, "127.0.0.1:8080");
        let s = Server::parse("https://example.com/base", false, "u").unwrap();
        assert!(s.addr_is_hostname());
        assert_eq!(&s.prefix[..], b"/base");
        let s = Server::parse("http://[::1]:80", false, "u").unwrap();
        assert!(!s.addr_is_hostname());
        for bad in [
            "127.0.0.1:80",
            "ftp://a",
            "http://",
            "http:///x",
            "http://a?x=1",
            "http://u@a",
            "http://a:port",
        ] {
            let e = Server::parse(bad, false, "p.url").unwrap_err();
            assert_eq!(e.path, "p.url", "{bad}");
        }
    }

    #[test]
    fn hop_by_hop_indexes_match_the_table() {
        for (i, n) in HOP_BY_HOP.iter().enumerate() {
            assert_eq!(hop_by_hop_index(n), Some(i), "{n}");
        }
        assert_eq!(hop_by_hop_index(&HOST), None);
    }

    #[test]
    fn hop_by_hop_headers_go() {
        let mut h = HeaderMap::new();
        h.insert(CONNECTION, HeaderValue::from_static("close, X-Secret"));
        h.insert("x-secret", HeaderValue::from_static("1"));
        h.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        h.insert("upgrade", HeaderValue::from_static("websocket"));
        h.insert("x-kept", HeaderValue::from_static("1"));
        remove_hop_by_hop(&mut h);
        assert_eq!(h.len(), 1);
        assert!(h.contains_key("x-kept"));
    }
}
