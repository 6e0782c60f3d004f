//! A server pool of a `GRPCProxy`: servers and load balancing from `eg-upstream`, the
//! circuit breaker, and one call relayed over an HTTP/2 connection — request and answer
//! streamed frame by frame, trailers included.

use std::sync::Arc;
use std::time::Duration;

use eg_protocols::grpc::{self, Code, GRPC_STATUS, GRPC_TIMEOUT};
use eg_protocols::{Body, Context, HttpResponse};
use eg_spec::SpecError;
use eg_upstream::balance::{LoadBalancer, Policy};
use eg_upstream::connections::H2Pool;
use eg_upstream::matcher::RequestMatcher;
use eg_upstream::server::Server;
use eg_upstream::servers::{ServerHealth, ServerSelection};
use eg_upstream::sticky::StickySession;
use http::uri::Authority;
use http::{HeaderMap, Request};
use serde_json::{json, Value};

use super::deadline::{DeadlineBody, DEADLINE_MESSAGE};
use super::spec::GrpcPoolSpec;
use super::{
    RESULT_CLIENT_ERROR, RESULT_INTERNAL_ERROR, RESULT_SERVER_ERROR, RESULT_SHORT_CIRCUITED,
};
use crate::resilience::{BreakerCall, CircuitBreaker, Policies};

/// Server URL schemes of a gRPC pool (h2c, no TLS).
const GRPC_SCHEMES: &[&str] = &["http"];

/// Request headers not passed upstream: hop-by-hop ones, and `host` (HTTP/2 says
/// `:authority`).
const HOP_BY_HOP: [&str; 7] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
];

/// A checked and built pool.
pub struct Pool {
    /// `proxy#<filter>#main` or `proxy#<filter>#candidate#<i>`.
    pub name: String,
    servers: Box<[Server]>,
    health: Arc<ServerHealth>,
    lb: LoadBalancer,
    /// Which calls a candidate pool takes.
    pub matcher: Option<RequestMatcher>,
    breaker: Option<arc_swap::ArcSwap<CircuitBreaker>>,
}

/// What a call through a pool needs from the proxy.
pub struct CallEnv<'a> {
    /// The shared connections.
    pub conns: &'a H2Pool,
    /// The proxy's `timeout`.
    pub timeout: Option<Duration>,
}

/// A failed call: its gRPC status and the filter's result.
struct Failed(Code, String, &'static str);

impl Pool {
    /// Checks and builds `spec` (at `path`).
    pub fn build(
        spec: &GrpcPoolSpec,
        path: &str,
        name: String,
        resilience: &Policies,
    ) -> Result<Pool, SpecError> {
        let field = |f: &str| format!("{path}.{f}");
        if !spec.service_name.is_empty() || !spec.service_registry.is_empty() {
            return Err(SpecError::new(
                field("serviceName"),
                "service registries are not supported yet: list the servers in `servers`",
            ));
        }
        let forward = spec
            .load_balance
            .as_ref()
            .is_some_and(|lb| lb.policy == eg_upstream::balance::FORWARD);
        let (servers, weights, weighted) = if forward && spec.servers.is_empty() {
            (Vec::new(), Vec::new(), false)
        } else {
            let s = ServerSelection::select(&spec.servers, &spec.server_tags, path, GRPC_SCHEMES)?;
            (s.servers, s.weights, s.weighted)
        };
        let lb = Policy::compile_with_forward(
            spec.load_balance.as_ref(),
            &field("loadBalance"),
            weighted,
        )?;
        let sticky = StickySession::of_load_balance(
            spec.load_balance.as_ref(),
            &field("loadBalance"),
            servers.iter().map(|s| s.url.clone()).collect(),
        )?;
        if forward && sticky.is_some() {
            return Err(SpecError::new(
                field("loadBalance.stickySession"),
                "not used with the forward policy: the forwardKey header names the server",
            ));
        }
        let matcher = spec
            .filter
            .as_ref()
            .map(|f| RequestMatcher::compile_with_methods(f, &field("filter")))
            .transpose()?;
        let breaker = if spec.circuit_breaker_policy.is_empty() {
            None
        } else {
            let policy = resilience
                .circuit_breaker(&spec.circuit_breaker_policy, &field("circuitBreakerPolicy"))?
                .clone();
            Some(arc_swap::ArcSwap::from_pointee(CircuitBreaker::new(
                policy,
                name.clone(),
                std::time::Instant::now(),
            )))
        };
        let health = Arc::new(ServerHealth::new(
            servers.iter().map(|s| s.url.clone()).collect(),
            weights,
        ));
        Ok(Pool {
            name,
            servers: servers.into(),
            health,
            lb: LoadBalancer::new(lb).with_sticky(sticky),
            matcher,
            breaker,
        })
    }

    /// Takes over the breaker state of the same pool of the previous generation.
    pub fn inherit(&self, prev: &Pool) {
        if let (Some(mine), Some(theirs)) = (&self.breaker, &prev.breaker) {
            let theirs = theirs.load_full();
            if theirs.policy() == mine.load().policy() {
                mine.store(theirs);
            }
        }
    }

    /// The pool's status.
    pub fn status(&self) -> Value {
        let servers: Vec<Value> = self.servers.iter().map(|s| json!({"url": s.url})).collect();
        let mut s = json!({"name": self.name, "servers": servers});
        if let Some(b) = &self.breaker {
            s["circuitBreaker"] = json!(b.load().state().name());
        }
        s
    }

    /// Relays the call in `ctx` and leaves the answer (or a gRPC status) as its response.
    pub async fn handle(&self, ctx: &mut Context, env: &CallEnv<'_>) -> &'static str {
        let permit = match &self.breaker {
            Some(b) => match BreakerCall::acquire(b.load_full()) {
                Some(p) => Some(p),
                None => {
                    ctx.add_tag("short circuited");
                    ctx.set_response(grpc::status_response(
                        Code::Unavailable,
                        "short circuited by circuit break policy",
                    ));
                    return RESULT_SHORT_CIRCUITED;
                }
            },
            None => None,
        };
        let outcome = self.call(ctx, env).await;
        let result = match outcome {
            Ok(resp) => {
                let failed = resp
                    .headers
                    .get(GRPC_STATUS)
                    .is_some_and(|s| s.as_bytes() != b"0");
                ctx.set_response(resp);
                if failed {
                    RESULT_SERVER_ERROR
                } else {
                    ""
                }
            }
            Err(Failed(code, message, result)) => {
                ctx.add_tag(format!("status code: {}", code as u8));
                ctx.set_response(grpc::status_response(code, &message));
                result
            }
        };
        if let Some(p) = permit {
            p.record(!result.is_empty());
        }
        result
    }

    async fn call(&self, ctx: &mut Context, env: &CallEnv<'_>) -> Result<HttpResponse, Failed> {
        let real_ip = ctx.real_ip;
        let Some(req) = ctx.request_mut() else {
            return Err(Failed(
                Code::Internal,
                "no request".into(),
                RESULT_INTERNAL_ERROR,
            ));
        };
        // The pool server chosen (none with `forward`), for the sticky-session cookie.
        let mut chosen = None;
        let authority: Authority = match self.lb.forward_target(req) {
            Some(target) => forward_authority(target).ok_or_else(|| {
                Failed(
                    Code::Internal,
                    "server url invalid".into(),
                    RESULT_INTERNAL_ERROR,
                )
            })?,
            None => match self.lb.choose(&self.health.group(), req, real_ip) {
                Some(i) => {
                    chosen = Some(i);
                    self.servers[i].authority.clone()
                }
                None => {
                    return Err(Failed(
                        Code::InvalidArgument,
                        "no available server".into(),
                        RESULT_CLIENT_ERROR,
                    ))
                }
            },
        };
        let deadline = match (
            req.headers()
                .get(GRPC_TIMEOUT)
                .and_then(grpc::parse_timeout),
            env.timeout,
        ) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let uri = http::Uri::builder()
            .scheme("http")
            .authority(authority.clone())
            .path_and_query(req.uri().path_and_query().map_or("/", |p| p.as_str()))
            .build()
            .map_err(|e| Failed(Code::Internal, e.to_string(), RESULT_INTERNAL_ERROR))?;
        let mut headers = HeaderMap::with_capacity(req.headers().len());
        for (k, v) in req.headers() {
            if !HOP_BY_HOP.contains(&k.as_str()) {
                headers.append(k.clone(), v.clone());
            }
        }
        let mut upstream = Request::post(uri)
            .version(http::Version::HTTP_2)
            .body(std::mem::take(&mut req.body))
            .map_err(|e| Failed(Code::Internal, e.to_string(), RESULT_INTERNAL_ERROR))?;
        *upstream.headers_mut() = headers;
        let exchange = async {
            let mut sender = env
                .conns
                .get(&authority)
                .await
                .map_err(|e| Failed(Code::Unavailable, e.to_string(), RESULT_INTERNAL_ERROR))?;
            sender
                .send_request(upstream)
                .await
                .map_err(|e| Failed(Code::Unavailable, e.to_string(), RESULT_SERVER_ERROR))
        };
        let deadline = deadline.map(|d| tokio::time::Instant::now() + d);
        let resp = match deadline {
            Some(at) => tokio::time::timeout_at(at, exchange)
                .await
                .unwrap_or_else(|_| {
                    Err(Failed(
                        Code::DeadlineExceeded,
                        DEADLINE_MESSAGE.into(),
                        RESULT_SERVER_ERROR,
                    ))
                })?,
            None => exchange.await?,
        };
        let (mut head, body) = resp.into_parts();
        if let Some(i) = chosen {
            self.lb.return_server(i, &mut head.headers);
        }
        let body = match deadline {
            Some(at) => Body::Stream(http_body_util::combinators::UnsyncBoxBody::new(
                DeadlineBody::new(body, at),
            )),
            None => Body::Incoming(body),
        };
        Ok(HttpResponse {
            status: head.status,
            headers: head.headers,
            body,
        })
    }
}

/// The `host:port` of a `forward` target: `host:port` or a URL naming one.
fn forward_authority(target: &str) -> Option<Authority> {
    let hostport = match target.split_once("://") {
        Some((_, rest)) => rest.split('/').next().unwrap_or(""),
        None => target,
    };
    let a: Authority = hostport.parse().ok()?;
    a.port_u16()?;
    Some(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forward_targets_need_a_port() {
        assert_eq!(
            forward_authority("127.0.0.1:9000").unwrap().as_str(),
            "127.0.0.1:9000"
        );
        assert_eq!(
            forward_authority("http://a.b:80/x").unwrap().as_str(),
            "a.b:80"
        );
        assert!(forward_authority("").is_none());
        assert!(forward_authority("a.b").is_none());
    }
}
