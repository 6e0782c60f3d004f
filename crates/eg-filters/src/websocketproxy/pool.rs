//! A pool of WebSocket servers: its servers, load balancer, health check, limits and
//! origin rule, checked from the spec ([`PoolPlan::check`], nothing live) and then built
//! ([`Pool::build`]: TLS configuration, health checker).

use std::sync::Arc;

use eg_protocols::Context;
use eg_spec::SpecError;
use eg_upstream::balance::{LoadBalancer, Policy};
use eg_upstream::connections::{
    shared_client, websocket_tls_config, ClientSettings, Target, UpstreamClient,
};
use eg_upstream::health::{Checker, HealthCheck, HealthTask, ProbeTarget};
use eg_upstream::matcher::RequestMatcher;
use eg_upstream::server::{Server, WS_SCHEMES};
use eg_upstream::servers::{ServerHealth, ServerSelection};
use eg_upstream::sticky::StickySession;
use http::uri::Scheme;
use http::StatusCode;
use serde_json::{json, Value};

use super::origin::OriginPolicy;
use super::session::{self, SessionSettings, Upstream, RESULT_INTERNAL_ERROR};
use super::spec::{WsPoolSpec, DEFAULT_MAX_MSG_SIZE, UNLIMITED_MSG_SIZE};
use super::stats::PoolStats;

/// Health probes keep no idle connection.
const PROBE_IDLE_CONNS: usize = 0;

/// A checked pool spec: everything a [`Pool`] is built from, nothing live yet.
pub struct PoolPlan {
    name: String,
    servers: Vec<Server>,
    weights: Vec<u32>,
    lb: Policy,
    matcher: Option<RequestMatcher>,
    set_upstream_host: bool,
    client_max_msg: Option<usize>,
    server_max_msg: Option<usize>,
    insecure: bool,
    origins: OriginPolicy,
    health_check: Option<HealthCheck>,
    path: String,
    sticky: Option<StickySession>,
}

/// `clientMaxMsgSize`/`serverMaxMsgSize`: 0 is the default, -1 no limit, other negatives
/// are refused at `path`.
fn msg_limit(v: i64, path: &str) -> Result<Option<usize>, SpecError> {
    match v {
        0 => Ok(Some(DEFAULT_MAX_MSG_SIZE as usize)),
        UNLIMITED_MSG_SIZE => Ok(None),
        n if n < 0 => Err(SpecError::new(
            path,
            format!("{n} is not a size: use a positive number of bytes, or -1 for no limit"),
        )),
        n => Ok(Some(usize::try_from(n).unwrap_or(usize::MAX))),
    }
}

impl PoolPlan {
    /// Checks the pool at `path` (e.g. `filters[0].pools[1]`) and compiles its parts.
    pub fn check(spec: &WsPoolSpec, path: &str, name: String) -> Result<PoolPlan, SpecError> {
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
        } = ServerSelection::select(&spec.servers, &spec.server_tags, path, WS_SCHEMES)?;
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
        let client_max_msg = msg_limit(spec.client_max_msg_size, &field("clientMaxMsgSize"))?;
        let server_max_msg = msg_limit(spec.server_max_msg_size, &field("serverMaxMsgSize"))?;
        let origins = OriginPolicy::compile(&spec.origin_patterns, &field("originPatterns"))?;
        if spec
            .load_balance
            .as_ref()
            .is_some_and(|lb| lb.health_check.is_some())
        {
            return Err(SpecError::new(
                field("loadBalance.healthCheck"),
                "not used by WebSocketProxy: use the pool's healthCheck (http and/or ws)",
            ));
        }
        let health_check = match &spec.health_check {
            Some(h) => {
                // Checking builds no live resource: the TLS configuration is plain data.
                let tls = websocket_tls_config(spec.insecure_skip_verify)
                    .map_err(|e| SpecError::new(path, e))?;
                Some(HealthCheck::compile_websocket(
                    h,
                    &field("healthCheck"),
                    tls,
                )?)
            }
            None => None,
        };
        Ok(PoolPlan {
            name,
            servers,
            weights,
            lb,
            matcher,
            set_upstream_host: spec.set_upstream_host,
            client_max_msg,
            server_max_msg,
            insecure: spec.insecure_skip_verify,
            origins,
            health_check,
            path: path.to_string(),
            sticky,
        })
    }
}

/// A pool ready to take handshakes.
pub struct Pool {
    /// `websocketproxy#<filter>#main` or `websocketproxy#<filter>#candidate#<i>`.
    pub name: String,
    servers: Box<[Server]>,
    upstreams: Box<[Upstream]>,
    health: Arc<ServerHealth>,
    checks: HealthTask,
    lb: LoadBalancer,
    /// Which requests this pool takes (`None` for the main pool).
    pub matcher: Option<RequestMatcher>,
    settings: Arc<SessionSettings>,
    stats: Arc<PoolStats>,
}

impl Pool {
    /// Builds the pool of a checked plan. Starts nothing ([`Pool::start`]).
    pub fn build(plan: PoolPlan) -> Result<Pool, SpecError> {
        let PoolPlan {
            name,
            servers,
            weights,
            lb,
            matcher,
            set_upstream_host,
            client_max_msg,
            server_max_msg,
            insecure,
            origins,
            health_check,
            path,
            sticky,
        } = plan;
        let tls = websocket_tls_config(insecure).map_err(|e| SpecError::new(&path, e))?;
        let checker = match health_check {
            Some(check) => {
                let client: Arc<UpstreamClient> = shared_client(&ClientSettings {
                    insecure,
                    mtls: None,
                    max_idle_per_host: PROBE_IDLE_CONNS,
                    max_idle: PROBE_IDLE_CONNS,
                })
                .map_err(|e| SpecError::new(&path, e))?;
                Some(Checker {
                    check: Arc::new(check),
                    targets: servers.iter().map(probe_target).collect(),
                    client,
                })
            }
            None => None,
        };
        let upstreams = servers
            .iter()
            .map(|s| upstream_of(s, set_upstream_host))
            .collect();
        let health = Arc::new(ServerHealth::new(
            servers.iter().map(|s| s.url.clone()).collect(),
            weights,
        ));
        Ok(Pool {
            name,
            servers: servers.into(),
            upstreams,
            health,
            checks: HealthTask::new(checker),
            lb: LoadBalancer::new(lb).with_sticky(sticky),
            matcher,
            settings: Arc::new(SessionSettings {
                client_max_msg,
                server_max_msg,
                insecure_skip_verify: insecure,
                origins,
                tls,
            }),
            stats: Arc::new(PoolStats::default()),
        })
    }

    /// Takes over health from `prev` and starts the health-check task.
    pub fn start(&self, prev: Option<&Pool>) {
        if let Some(p) = prev {
            self.health.inherit(&p.health);
        }
        self.checks.start(&self.name, &self.health);
    }

    /// Stops the health-check task (relayed sessions go on to their end).
    pub fn stop(&self) {
        self.checks.stop();
    }

    /// Status: handshakes, sessions, relayed messages and server health.
    pub fn status(&self) -> Value {
        let servers: Vec<Value> = self
            .servers
            .iter()
            .enumerate()
            .map(|(i, s)| json!({"url": s.url, "healthy": self.health.is_healthy(i)}))
            .collect();
        let mut s = self.stats.status();
        s.insert("name".into(), json!(self.name));
        s.insert("servers".into(), Value::Array(servers));
        Value::Object(s)
    }

    /// Serves the handshake of the active namespace's request; a `101` carries the sticky
    /// session's cookie naming the server when the pool's sticky sessions set one.
    pub async fn handle(&self, ctx: &mut Context) -> &'static str {
        let chosen = ctx.request().and_then(|req| {
            let group = self.health.group();
            self.lb.choose(&group, req, ctx.real_ip)
        });
        let Some(i) = chosen else {
            tracing::warn!(pool = %self.name, "no available server");
            self.stats.record_refused(StatusCode::SERVICE_UNAVAILABLE);
            ctx.set_response(eg_protocols::HttpResponse::new(
                StatusCode::SERVICE_UNAVAILABLE,
            ));
            return RESULT_INTERNAL_ERROR;
        };
        let result = session::serve(ctx, &self.upstreams[i], &self.settings, &self.stats).await;
        if self.lb.sticky().is_some() {
            if let Some(resp) = ctx.response_mut() {
                if resp.status == StatusCode::SWITCHING_PROTOCOLS {
                    self.lb.return_server(i, &mut resp.headers);
                }
            }
        }
        result
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Where the health probes of `s` go: `http://` for `ws://`, `https://` for `wss://`
/// (the WebSocket probe turns them back).
fn probe_target(s: &Server) -> ProbeTarget {
    let scheme = if s.scheme.as_str() == "wss" {
        Scheme::HTTPS
    } else {
        Scheme::HTTP
    };
    let prefix = std::str::from_utf8(&s.prefix).unwrap_or("");
    ProbeTarget::new(scheme, s.authority.clone(), prefix)
}

/// How sessions reach `s`: the client's `Host` for IP-literal servers (unless
/// `setUpstreamHost`) and `keepHost` servers, the server's otherwise.
fn upstream_of(s: &Server, set_upstream_host: bool) -> Upstream {
    let host = s.authority.host();
    Upstream {
        target: Target {
            tls: s.scheme.as_str() == "wss",
            authority: authority_with_port(s),
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string(),
        },
        use_client_host: s.keep_host || (!s.addr_is_hostname && !set_upstream_host),
        host_header: s.authority.as_str().to_string(),
        url: s.url.as_str().into(),
    }
}

/// `host:port`, with the scheme's default port when the URL has none.
fn authority_with_port(s: &Server) -> String {
    match s.authority.port_u16() {
        Some(_) => s.authority.as_str().to_string(),
        None => {
            let port = if s.scheme.as_str() == "wss" { 443 } else { 80 };
            format!("{}:{port}", s.authority.host())
        }
    }
}
