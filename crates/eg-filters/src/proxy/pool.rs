//! A server pool: its servers, load balancer, health and policies, checked from the spec
//! ([`PoolPlan::check`], nothing live) and then built ([`Pool::build`]: client, connection
//! pools, health checker, breaker, metrics); and the call of a request through it — the
//! breaker around the retries around each [`exchange`](super::exchange) attempt.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use eg_protocols::{Context, HttpRequest, HttpResponse};
use eg_spec::SpecError;
use eg_supervisor::metrics::MetricsRegistry;
use eg_supervisor::MemberInfo;
use http::uri::Scheme;
use http::StatusCode;
use serde_json::{json, Value};

use eg_upstream::balance::{LoadBalancer, Policy};
use eg_upstream::connections::{
    check_settings, shared_client, ClientSettings, MtlsMaterial, UpstreamClient,
};
use eg_upstream::health::{Checker, HealthCheck, HealthTask, ProbeTarget};
use eg_upstream::matcher::RequestMatcher;
use eg_upstream::server::{Server, HTTP_SCHEMES};
use eg_upstream::servers::{ServerHealth, ServerSelection};
use eg_upstream::sticky::StickySession;

use super::cache::{Entry, MemoryCache};
use super::compression::Compression;
use super::failure::Failure;
use super::forward::{set_response, Answer};
use super::metrics::PoolMetrics;
use super::spec::PoolSpec;
use super::{
    RESULT_CLIENT_ERROR, RESULT_FAILURE_CODE, RESULT_INTERNAL_ERROR, RESULT_SHORT_CIRCUITED,
};
use crate::resilience::{
    Attempts, BreakerCall, BreakerPolicy, CircuitBreaker, Policies, RetryPolicy,
};

/// Default `serverMaxBodySize`: 4 MiB.
pub const DEFAULT_SERVER_MAX_BODY_SIZE: u64 = 4 << 20;

/// What a pool is checked with besides its own spec: the Proxy's fields and the pipeline's
/// policies.
pub struct PoolEnv<'a> {
    /// The pipeline's resilience policies.
    pub resilience: &'a Policies,
    /// The Proxy's `serverMaxBodySize`.
    pub server_max_body_size: i64,
    /// The Proxy's `insecureSkipVerify` (or `mtls.insecureSkipVerify`).
    pub insecure: bool,
    /// The Proxy's decoded `mtls`.
    pub mtls: Option<MtlsMaterial>,
    /// Idle connections per host.
    pub max_idle_per_host: usize,
    /// Idle connections in all (`maxIdleConns`; `usize::MAX` for no limit).
    pub max_idle: usize,
    /// The Proxy's `maxRedirection`.
    pub max_redirection: u32,
}

/// A checked pool spec: everything a [`Pool`] is built from, nothing live yet.
pub struct PoolPlan {
    name: String,
    span_name: String,
    servers: Vec<Server>,
    weights: Vec<u32>,
    lb: Policy,
    matcher: Option<RequestMatcher>,
    set_upstream_host: bool,
    timeout: Option<Duration>,
    failure_codes: Box<[u16]>,
    max_body: Option<u64>,
    retry: Option<RetryPolicy>,
    breaker: Option<BreakerPolicy>,
    settings: ClientSettings,
    /// Where client errors are reported (the pool's path).
    path: String,
    health_check: Option<HealthCheck>,
    lb_label: String,
    filter_label: String,
    sticky: Option<StickySession>,
    memory_cache: Option<MemoryCache>,
    max_redirection: u32,
}

impl PoolPlan {
    /// Checks the pool at `path` (e.g. `filters[0].pools[1]`) and compiles its parts.
    pub fn check(
        spec: &PoolSpec,
        path: &str,
        name: String,
        env: &PoolEnv<'_>,
    ) -> Result<PoolPlan, SpecError> {
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
        let ServerSelection {
            servers,
            weights,
            weighted,
        } = ServerSelection::select(&spec.servers, &spec.server_tags, path, HTTP_SCHEMES)?;
        let lb = Policy::compile(spec.load_balance.as_ref(), &field("loadBalance"), weighted)?;
        let sticky = StickySession::of_load_balance(
            spec.load_balance.as_ref(),
            &field("loadBalance"),
            servers.iter().map(|s| s.url.clone()).collect(),
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
            Some(
                env.resilience
                    .retry(&spec.retry_policy, &field("retryPolicy"))?
                    .clone(),
            )
        };
        let breaker = if spec.circuit_breaker_policy.is_empty() {
            None
        } else {
            Some(
                env.resilience
                    .circuit_breaker(&spec.circuit_breaker_policy, &field("circuitBreakerPolicy"))?
                    .clone(),
            )
        };
        let settings = ClientSettings {
            insecure: spec.insecure_skip_verify.unwrap_or(env.insecure),
            mtls: env.mtls.clone(),
            max_idle_per_host: env.max_idle_per_host,
            max_idle: env.max_idle,
        };
        check_settings(&settings).map_err(|e| SpecError::new(path, e))?;
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
        let health_check = match hc_spec {
            Some((h, hpath)) => Some(HealthCheck::compile(h, &hpath)?),
            None => None,
        };
        Ok(PoolPlan {
            span_name: if spec.span_name.is_empty() {
                name.clone()
            } else {
                spec.span_name.clone()
            },
            name,
            servers,
            weights,
            lb,
            matcher,
            set_upstream_host: spec.set_upstream_host,
            timeout: spec.timeout.filter(|d| !d.is_zero()),
            failure_codes: failure_codes.into(),
            max_body,
            retry,
            breaker,
            settings,
            path: path.to_string(),
            health_check,
            lb_label: spec
                .load_balance
                .as_ref()
                .map(|l| l.policy.clone())
                .unwrap_or_default(),
            filter_label: spec
                .filter
                .as_ref()
                .map(|f| f.policy.clone())
                .unwrap_or_default(),
            sticky,
            memory_cache: match &spec.memory_cache {
                Some(c) => Some(MemoryCache::compile(c, &field("memoryCache"))?),
                None => None,
            },
            max_redirection: env.max_redirection,
        })
    }
}

/// A server pool ready to take requests.
pub struct Pool {
    /// `proxy#<filter>#main`, `proxy#<filter>#candidate#<i>` or `proxy#<filter>#mirror`.
    pub name: String,
    /// The name of the span of each attempt (`spanName`, default the pool name).
    pub(super) span_name: String,
    pub(super) servers: Box<[Server]>,
    health: Arc<ServerHealth>,
    checks: HealthTask,
    lb: LoadBalancer,
    /// Which requests this pool takes (`None` for the main pool).
    pub matcher: Option<RequestMatcher>,
    pub(super) set_upstream_host: bool,
    pub(super) timeout: Option<Duration>,
    /// Failure statuses; empty = 500-599.
    failure_codes: Box<[u16]>,
    /// Response body limit; `None` = stream.
    pub(super) max_body: Option<u64>,
    pub(super) client: Arc<UpstreamClient>,
    retry: Option<RetryPolicy>,
    /// The circuit breaker around the (retried) call; swapped for the previous
    /// generation's breaker when the policy is the same.
    breaker: Option<arc_swap::ArcSwap<CircuitBreaker>>,
    metrics: PoolMetrics,
    /// `maxRedirection`: with N > 0, redirects are followed while fewer than N requests
    /// were sent (Go's `CheckRedirect` as Easegress sets it).
    pub(super) max_redirection: u32,
    /// `memoryCache`.
    pub(super) cache: Option<MemoryCache>,
}

impl Pool {
    /// Builds the pool of a checked plan: the shared client, the servers' connection pools,
    /// the health checker, the breaker and the metrics. Starts nothing ([`Pool::start`]).
    pub fn build(
        plan: PoolPlan,
        metrics: &MetricsRegistry,
        member: &MemberInfo,
    ) -> Result<Pool, SpecError> {
        let PoolPlan {
            name,
            span_name,
            mut servers,
            weights,
            lb,
            matcher,
            set_upstream_host,
            timeout,
            failure_codes,
            max_body,
            retry,
            breaker,
            settings,
            path,
            health_check,
            lb_label,
            filter_label,
            sticky,
            memory_cache,
            max_redirection,
        } = plan;
        let breaker = breaker.map(|policy| {
            let cb = CircuitBreaker::new(policy, name.clone(), std::time::Instant::now());
            arc_swap::ArcSwap::from_pointee(cb)
        });
        let client = shared_client(&settings).map_err(|e| SpecError::new(path, e))?;
        for s in &mut servers {
            if s.scheme == Scheme::HTTP {
                s.fast = Some(client.host_pool(&s.authority));
            }
        }
        let checker = health_check.map(|check| Checker {
            check: Arc::new(check),
            targets: servers
                .iter()
                .map(|s| {
                    let prefix = std::str::from_utf8(&s.prefix).unwrap_or("");
                    ProbeTarget::new(s.scheme.clone(), s.authority.clone(), prefix)
                })
                .collect(),
            client: client.clone(),
        });
        let metrics = PoolMetrics::new(metrics, member, &name, &lb_label, &filter_label);
        let health = Arc::new(ServerHealth::new(
            servers.iter().map(|s| s.url.clone()).collect(),
            weights,
        ));
        Ok(Pool {
            name,
            span_name,
            servers: servers.into(),
            health,
            checks: HealthTask::new(checker),
            lb: LoadBalancer::new(lb).with_sticky(sticky),
            matcher,
            set_upstream_host,
            timeout,
            failure_codes,
            max_body,
            client,
            retry,
            breaker,
            metrics,
            max_redirection,
            cache: memory_cache,
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
        self.checks.start(&self.name, &self.health);
    }

    /// Stops the health-check task.
    pub fn stop(&self) {
        self.checks.stop();
    }

    /// Status: counts and server health.
    pub fn status(&self) -> Value {
        let servers: Vec<Value> = self
            .servers
            .iter()
            .enumerate()
            .map(|(i, s)| json!({"url": s.url, "healthy": self.health.is_healthy(i)}))
            .collect();
        let mut s = json!({
            "name": self.name,
            "total": self.metrics.count(),
            "errors": self.metrics.error_count(),
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
    pub(super) fn attempt_failed(&self, r: &Result<(Answer, u64), Failure>) -> bool {
        match r {
            Ok((a, _)) => self.is_failure_code(a.status.as_u16()),
            Err(f) => f.1 != RESULT_CLIENT_ERROR,
        }
    }

    pub(super) fn is_failure_code(&self, status: u16) -> bool {
        if self.failure_codes.is_empty() {
            (500..600).contains(&status)
        } else {
            self.failure_codes.contains(&status)
        }
    }

    /// Picks a server for `req`.
    pub fn choose(&self, req: &HttpRequest, real_ip: IpAddr) -> Option<&Server> {
        self.choose_index(req, real_ip).map(|i| &self.servers[i])
    }

    /// Picks a server for `req`: its index.
    pub(super) fn choose_index(&self, req: &HttpRequest, real_ip: IpAddr) -> Option<usize> {
        let group = self.health.group();
        self.lb.choose(&group, req, real_ip)
    }

    /// Adds the sticky-session cookie naming server `i` to an answer from it, when the
    /// pool's sticky sessions set one.
    pub(super) fn return_server(&self, i: usize, headers: &mut http::HeaderMap) {
        self.lb.return_server(i, headers);
    }

    /// Proxies the request of the active namespace of `ctx` and sets its response.
    pub async fn handle(
        &self,
        ctx: &mut Context,
        compression: Option<Compression>,
    ) -> &'static str {
        if let Some(cache) = &self.cache {
            if let Some(entry) = ctx.request().and_then(|r| cache.load(r)) {
                if let Some(result) = self.serve_cached(ctx, &entry, compression) {
                    return result;
                }
            }
        }
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
        let (mut tries, req_size) = Attempts::take(req, self.retry.as_ref());
        let outcome = loop {
            let body = tries.next_body();
            let r = self
                .attempt(ctx, body, tries.replay().cloned(), compression)
                .await;
            if !tries.again(self.attempt_failed(&r)).await {
                break r;
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

    /// Answers from a cache entry without calling the upstream, merging into an existing
    /// response as Easegress does (its `Access-Control-*` headers win; the entry's are used
    /// only for a CORS request). `None` when the entry cannot serve the request: a CORS
    /// request that neither the response so far nor the entry has CORS headers for.
    fn serve_cached(
        &self,
        ctx: &mut Context,
        entry: &Entry,
        compression: Option<Compression>,
    ) -> Option<&'static str> {
        use eg_protocols::{fix_framing, Body, MessageKind};
        use http::header::{ACCESS_CONTROL_ALLOW_ORIGIN, ORIGIN};
        let (origin, gzip_ok, to_head) = {
            let req = ctx.request()?;
            (
                req.headers().get(ORIGIN).is_some_and(|o| !o.is_empty()),
                compression
                    .is_some_and(|_| Compression::client_accepts(req.method(), req.headers())),
                req.method() == http::Method::HEAD,
            )
        };
        let has_cors = |h: &http::HeaderMap| {
            h.get(ACCESS_CONTROL_ALLOW_ORIGIN)
                .is_some_and(|v| !v.is_empty())
        };
        let resp_cors = ctx.response().is_some_and(|r| has_cors(&r.headers));
        if origin && !resp_cors && !has_cors(&entry.headers) {
            return None;
        }
        let mut headers = ctx
            .response_mut()
            .map(|r| std::mem::take(&mut r.headers))
            .unwrap_or_default();
        headers.remove(http::header::CONTENT_LENGTH);
        headers.remove(http::header::TRANSFER_ENCODING);
        let mut cors_replaced = Vec::new();
        for (name, value) in &entry.headers {
            if !name.as_str().starts_with("access-control-") {
                headers.append(name.clone(), value.clone());
            } else if origin && !resp_cors {
                if !cors_replaced.contains(name) {
                    headers.remove(name);
                    cors_replaced.push(name.clone());
                }
                headers.append(name.clone(), value.clone());
            }
        }
        let mut body = Body::full(entry.body.clone());
        if let (true, Some(c)) = (gzip_ok, compression) {
            if c.response_wanted(entry.status, &headers, body.known_len()) {
                if let Ok(z) = eg_protocols::gzip::gzip(&entry.body) {
                    Compression::mark(&mut headers);
                    body = Body::Full(z);
                }
            }
        }
        let kind = MessageKind::Response {
            status: entry.status,
            to_head,
        };
        fix_framing(&mut headers, kind, body.known_len());
        let size = body.known_len().unwrap_or(0);
        self.metrics.record(entry.status.as_u16(), 0, size);
        let answer = HttpResponse {
            status: entry.status,
            headers,
            body,
        };
        match ctx.response_mut() {
            Some(r) => *r = answer,
            None => ctx.set_response(answer),
        }
        Some(if self.is_failure_code(entry.status.as_u16()) {
            RESULT_FAILURE_CODE
        } else {
            super::RESULT_OK
        })
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
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.stop();
    }
}
