//! The compiled routing configuration of a gRPC server and the life of one call.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Instant;

use bytes::Bytes;
use eg_protocols::grpc::{self, Code};
use eg_protocols::{strip_port, unbracket, Body, BodyError, Context, HttpRequest, HttpResponse};
use eg_spec::{IpFilter, SpecError};
use eg_supervisor::Supervisor;
use http::header::HOST;
use http::{Method, Request, Response, StatusCode};
use http_body::{Frame, SizeHint};

use super::router::{Refusal, Router, NOT_ALLOWED};
use super::spec::GrpcServerSpec;
use crate::gate::backend::{self, GlobalFilter, ObjectSlot};
use crate::gate::cache::{Cached, RouteCache};
use crate::gate::listener::Gate;
use crate::gate::realip::{append_x_forwarded_for, TrustedProxies};
use crate::gate::stats::{RequestStats, SharedStats};
use crate::pipeline::Pipeline;

/// The parts of a [`Mux`] compiled from a spec (everything that can reject it).
pub(crate) struct Parts {
    ip_filter: Option<IpFilter>,
    router: Router,
    trusted: TrustedProxies,
}

/// Compiles and checks the routing part of `spec`.
pub(crate) fn compile_parts(spec: &GrpcServerSpec) -> Result<Parts, SpecError> {
    Ok(Parts {
        ip_filter: spec
            .ip_filter
            .as_ref()
            .map(|f| f.compile("ipFilter"))
            .transpose()?,
        router: Router::compile(&spec.rules)?,
        trusted: TrustedProxies::compile(&spec.trusted_proxies)?,
    })
}

struct RouteRuntime {
    pipeline: ObjectSlot<Pipeline>,
    stats: Arc<RequestStats>,
}

/// One compiled configuration of a gRPC server.
pub(crate) struct Mux {
    name: String,
    sup: Supervisor,
    ip_filter: Option<IpFilter>,
    router: Router,
    routes: Vec<RouteRuntime>,
    cache: Option<RouteCache>,
    x_forwarded_for: bool,
    trusted: TrustedProxies,
    global_filter: Option<ObjectSlot<GlobalFilter>>,
    stats: Arc<SharedStats>,
}

impl Mux {
    /// The configuration of server `name` from the compiled `parts` of `spec`, sharing
    /// `stats` (kept across generations).
    pub fn new(
        name: &str,
        parts: Parts,
        spec: &GrpcServerSpec,
        sup: &Supervisor,
        stats: Arc<SharedStats>,
    ) -> Mux {
        let routes = parts
            .router
            .methods
            .iter()
            .map(|m| RouteRuntime {
                pipeline: ObjectSlot::new(&m.backend),
                stats: stats.path(&m.pattern),
            })
            .collect();
        Mux {
            name: name.to_string(),
            sup: sup.clone(),
            ip_filter: parts.ip_filter,
            router: parts.router,
            routes,
            cache: (spec.cache_size > 0).then(|| RouteCache::new(spec.cache_size)),
            x_forwarded_for: spec.x_forwarded_for,
            trusted: parts.trusted,
            global_filter: (!spec.global_filter.is_empty())
                .then(|| ObjectSlot::new(&spec.global_filter)),
            stats,
        }
    }

    /// The route of a call, or why there is none. The cache key is host + full method
    /// (gRPC calls are all `POST`).
    fn route(
        &self,
        host: &str,
        full_method: &str,
        headers: &http::HeaderMap,
        ip: std::net::IpAddr,
    ) -> Result<usize, Refusal> {
        if let Some(f) = &self.ip_filter {
            if !f.allows(ip) {
                return Err(NOT_ALLOWED);
            }
        }
        if let Some(cache) = &self.cache {
            match cache.get(host, &Method::POST, full_method) {
                Some(Cached::Route(i)) => return Ok(i),
                Some(Cached::Status(_)) => return Err(super::router::NO_MATCH),
                None => {}
            }
        }
        let found = self.router.search(host, full_method, headers, ip);
        if let (Some(cache), false) = (&self.cache, found.uncacheable) {
            match found.route {
                Ok(i) => cache.put(host, &Method::POST, full_method, Cached::Route(i)),
                Err(r) if r == super::router::NO_MATCH => cache.put(
                    host,
                    &Method::POST,
                    full_method,
                    Cached::Status(StatusCode::NOT_FOUND),
                ),
                Err(_) => {}
            }
        }
        found.route
    }

    /// Serves one call: route, run the pipeline, answer with its response or a gRPC
    /// status.
    pub async fn serve(
        self: Arc<Self>,
        req: Request<Body>,
        peer: SocketAddr,
    ) -> Response<GrpcBody> {
        let mut finish = Finish {
            mux: self.clone(),
            route: None,
            start: Instant::now(),
            status: 0,
        };
        let (mut head, body) = req.into_parts();
        if !grpc::is_grpc(&head.headers) {
            let mut resp = HttpResponse::new(StatusCode::UNSUPPORTED_MEDIA_TYPE);
            resp.set_header(http::header::CONTENT_TYPE, "text/plain");
            return finish.respond(resp);
        }
        let real_ip = self.trusted.client_ip(peer.ip(), &head.headers);
        let routed = {
            let host = head
                .uri
                .authority()
                .map(|a| a.as_str())
                .or_else(|| head.headers.get(HOST).and_then(|v| v.to_str().ok()))
                .unwrap_or("");
            self.route(
                unbracket(strip_port(host)),
                head.uri.path(),
                &head.headers,
                real_ip,
            )
        };
        let ri = match routed {
            Ok(i) => i,
            Err(r) => return finish.respond(grpc::status_response(r.code, r.message)),
        };
        finish.route = Some(ri);
        let Some(pipeline) = self.routes[ri].pipeline.get(&self.sup) else {
            let backend = &self.router.methods[ri].backend;
            tracing::debug!(%backend, "backend pipeline not found");
            let message = format!("{}: backend {backend:?} not found", self.name);
            return finish.respond(grpc::status_response(Code::NotFound, &message));
        };
        if self.x_forwarded_for {
            append_x_forwarded_for(&mut head.headers, real_ip);
        }
        // The context ends with this block, dropped where it lives (not copied out of the
        // future first, as `drop(ctx)` would).
        let response = {
            let mut ctx = Context::new(HttpRequest::new(head, body), peer, real_ip);
            let global = self.global_filter.as_ref().and_then(|g| g.get(&self.sup));
            backend::run(&mut ctx, &pipeline, global.as_deref()).await;
            ctx.take_default_response()
        };
        match response {
            Some(resp) => finish.respond(resp),
            None => {
                let message = format!("gRPC server {}: response is nil", self.name);
                finish.respond(grpc::status_response(Code::Internal, &message))
            }
        }
    }
}

impl Gate for Mux {
    type Body = GrpcBody;
    type BodyError = BodyError;

    fn handle(
        self: Arc<Self>,
        req: Request<Body>,
        peer: SocketAddr,
    ) -> impl std::future::Future<Output = Response<GrpcBody>> + Send {
        self.serve(req, peer)
    }

    /// A trailers-only `Internal` status.
    fn internal_error() -> Response<GrpcBody> {
        let r = grpc::status_response(Code::Internal, "gRPC server: panic");
        let mut out = Response::new(GrpcBody {
            inner: Body::Empty,
            finish: None,
        });
        *out.headers_mut() = r.headers;
        out
    }
}

/// What is recorded when a call ends.
struct Finish {
    mux: Arc<Mux>,
    route: Option<usize>,
    start: Instant,
    status: u16,
}

impl Finish {
    fn respond(mut self, resp: HttpResponse) -> Response<GrpcBody> {
        self.status = resp.status.as_u16();
        let mut out = Response::new(GrpcBody {
            inner: resp.body,
            finish: Some(self),
        });
        *out.status_mut() = resp.status;
        *out.headers_mut() = resp.headers;
        out
    }

    fn done(self, resp_size: u64) {
        let duration = self.start.elapsed();
        self.mux
            .stats
            .server
            .record(self.status, duration, 0, resp_size);
        if let Some(i) = self.route {
            self.mux.routes[i]
                .stats
                .record(self.status, duration, 0, resp_size);
        }
    }
}

/// The response body of a call: the pipeline's body, frames (and trailers) passed as they
/// come, with the statistics recorded when it ends or is dropped.
pub(crate) struct GrpcBody {
    inner: Body,
    finish: Option<Finish>,
}

impl Drop for GrpcBody {
    fn drop(&mut self) {
        if let Some(f) = self.finish.take() {
            f.done(0);
        }
    }
}

impl http_body::Body for GrpcBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None) | Poll::Ready(Some(Err(_)))) {
            if let Some(f) = this.finish.take() {
                f.done(0);
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
