//! The compiled routing configuration of a server and the request lifecycle.
//!
//! A [`Mux`] is built from a spec once; the listener holds the current one in an
//! `ArcSwap` and swaps it when rules change, so connections survive rule updates.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::{Instant, SystemTime};

use bytes::Bytes;
use eg_protocols::{
    content_length, fix_framing, strip_port, unbracket, Body, BodyError, Context, HttpRequest,
    MessageKind,
};
use eg_spec::{IpFilter, SpecError};
use eg_supervisor::Supervisor;
use http::header::{HeaderValue, HOST};
use http::{HeaderMap, Request, Response, StatusCode};
use http_body::{Frame, SizeHint};

use super::accesslog::{AccessLog, Format, Record};
use super::metrics::{self, BackendMetrics, ServerLabels};
use super::router::{RouteRequest, Router};
use super::spec::{HttpServerSpec, DEFAULT_CLIENT_MAX_BODY_SIZE, STREAM_BODY};
use crate::gate::backend::{self, GlobalFilter, ObjectSlot};
use crate::gate::cache::{Cached, RouteCache};
use crate::gate::listener::Gate;
use crate::gate::realip::{append_x_forwarded_for, TrustedProxies};
use crate::gate::stats::{RequestStats, SharedStats};
use crate::pipeline::Pipeline;

/// A routed request: the route index, its rewritten path, and the path parameters that
/// `setHeaders` needs.
type Routed = (usize, Option<String>, Vec<String>);

/// Per-route things resolved at build time.
struct RouteRuntime {
    pipeline: ObjectSlot<Pipeline>,
    metrics: BackendMetrics,
    stats: Arc<RequestStats>,
    /// The path's `pathPrefix`, handed to the request context.
    path_prefix: Option<Arc<str>>,
}

/// One compiled configuration of a server.
pub(crate) struct Mux {
    sup: Supervisor,
    ip_filter: Option<IpFilter>,
    pub(crate) router: Router,
    routes: Vec<RouteRuntime>,
    cache: Option<RouteCache>,
    x_forwarded_for: bool,
    trusted: TrustedProxies,
    body_limit: i64,
    global_filter: Option<ObjectSlot<GlobalFilter>>,
    access_log: Option<AccessLog>,
    stats: Arc<SharedStats>,
    /// The server's name (the server span's name).
    name: String,
    /// Set when the spec has `tracing`; `None` = no tracing work per request.
    tracer: Option<Arc<eg_tracing::Tracer>>,
    /// The checked `tracing` the tracer was built from (to keep it across generations).
    tracing: Option<eg_tracing::TracingConfig>,
    https: bool,
}

/// The parts of a [`Mux`] compiled from a spec (everything that can reject it).
pub(crate) struct Parts {
    ip_filter: Option<IpFilter>,
    router: Router,
    trusted: TrustedProxies,
    format: Format,
    tracing: Option<eg_tracing::TracingConfig>,
}

/// Compiles and checks the routing part of `spec`, without resolving metrics or statistics.
pub(crate) fn compile_parts(name: &str, spec: &HttpServerSpec) -> Result<Parts, SpecError> {
    let router_kind = match spec.router_kind.as_str() {
        "" => super::spec::ROUTER_ORDERED,
        k @ (super::spec::ROUTER_ORDERED | super::spec::ROUTER_RADIX_TREE) => k,
        other => {
            return Err(SpecError::new(
                "routerKind",
                format!("unknown router kind {other:?} (use Ordered or RadixTree)"),
            ))
        }
    };
    if spec.client_max_body_size < STREAM_BODY {
        return Err(SpecError::new(
            "clientMaxBodySize",
            "must be -1 (stream), 0 (4 MiB) or a positive size",
        ));
    }
    Ok(Parts {
        ip_filter: spec
            .ip_filter
            .as_ref()
            .map(|f| f.compile("ipFilter"))
            .transpose()?,
        router: Router::compile(name, router_kind, &spec.rules)?,
        trusted: TrustedProxies::compile(&spec.trusted_proxies)?,
        format: Format::compile(&spec.access_log_format)?,
        tracing: spec
            .tracing
            .as_ref()
            .map(|t| t.check().map_err(|e| e.within("tracing")))
            .transpose()?,
    })
}

impl Mux {
    /// The configuration of server `name` from the compiled `parts` of `spec`, resolving
    /// metric handles and sharing `stats` (kept across generations). The tracer of `prev`
    /// is kept when `tracing` did not change, as Easegress does; otherwise a new one is
    /// built (the old one exports what it queued when its last request ends).
    pub fn new(
        name: &str,
        parts: Parts,
        spec: &HttpServerSpec,
        sup: &Supervisor,
        stats: Arc<SharedStats>,
        prev: Option<&Mux>,
    ) -> Mux {
        let tracer = match (&parts.tracing, prev) {
            (None, _) => None,
            (Some(cfg), Some(p)) if p.tracing.as_ref() == Some(cfg) && p.tracer.is_some() => {
                p.tracer.clone()
            }
            (Some(cfg), _) => eg_tracing::Tracer::new(cfg)
                .map_err(|e| tracing::error!(server = %name, error = %e, "tracing is off"))
                .ok(),
        };
        let labels = ServerLabels::new(sup, name);
        let routes = parts
            .router
            .routes
            .iter()
            .map(|r| RouteRuntime {
                pipeline: ObjectSlot::new(&r.backend),
                metrics: metrics::backend(sup, &labels, parts.router.kind, &r.backend),
                stats: stats.path(&r.pattern),
                path_prefix: r.prefix.as_deref().map(Arc::from),
            })
            .collect();
        let access_log = (!sup.member().options.disable_access_log)
            .then(|| AccessLog::new(parts.format, sup.member().log_dir.clone()));
        Mux {
            sup: sup.clone(),
            ip_filter: parts.ip_filter,
            router: parts.router,
            routes,
            cache: (spec.cache_size > 0).then(|| RouteCache::new(spec.cache_size)),
            x_forwarded_for: spec.x_forwarded_for,
            trusted: parts.trusted,
            body_limit: if spec.client_max_body_size == 0 {
                DEFAULT_CLIENT_MAX_BODY_SIZE
            } else {
                spec.client_max_body_size
            },
            global_filter: (!spec.global_filter.is_empty())
                .then(|| ObjectSlot::new(&spec.global_filter)),
            access_log,
            stats,
            name: name.to_string(),
            tracer,
            tracing: parts.tracing,
            https: spec.https,
        }
    }

    /// Finds the route of a request: `Ok(route index, rewritten path, path parameters)` or
    /// the failure status. The parameters are copied out only for a route whose
    /// `setHeaders` uses them.
    fn route(&self, req: &RouteRequest<'_>) -> Result<Routed, StatusCode> {
        if let Some(f) = &self.ip_filter {
            if !f.allows(req.ip) {
                return Err(StatusCode::FORBIDDEN);
            }
        }
        if let Some(cache) = &self.cache {
            match cache.get(req.host, req.method, req.path) {
                Some(Cached::Route(i)) => {
                    // Only matches that captured no parameter are cached (see
                    // `gate::cache`), so there are none to hand on.
                    let rewritten = self.router.routes[i].rewritten_path(req.path, &[]);
                    return Ok((i, rewritten, Vec::new()));
                }
                Some(Cached::Status(s)) => return Err(s),
                None => {}
            }
        }
        let search = self.router.search(req);
        if let Some(i) = search.route {
            if let (Some(cache), false) = (&self.cache, search.uncacheable) {
                cache.put(req.host, req.method, req.path, Cached::Route(i));
            }
            let route = &self.router.routes[i];
            let rewritten = route.rewritten_path(req.path, &search.params);
            let params = match &route.set_headers {
                Some(sh) if sh.uses_params() => {
                    search.params.iter().map(|p| p.to_string()).collect()
                }
                _ => Vec::new(),
            };
            return Ok((i, rewritten, params));
        }
        let status = search.failure_status();
        if let Some(cache) = &self.cache {
            if !search.uncacheable
                && matches!(
                    status,
                    StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED
                )
            {
                cache.put(req.host, req.method, req.path, Cached::Status(status));
            }
        }
        Err(status)
    }

    /// The tracer, when the server traces requests.
    pub(crate) fn tracer(&self) -> Option<&Arc<eg_tracing::Tracer>> {
        self.tracer.as_ref()
    }

    /// Serves one request: route, check the body, run the pipeline, answer.
    pub async fn serve(
        self: Arc<Self>,
        req: Request<Body>,
        peer: SocketAddr,
    ) -> Response<LoggedBody> {
        let start = Instant::now();
        let (mut head, body) = req.into_parts();
        let real_ip = self.trusted.client_ip(peer.ip(), &head.headers);
        let req_meta = meta_size(&head);
        let mut finish = Finish {
            mux: self,
            route: None,
            start,
            status: 0,
            req_size: req_meta,
            resp_size: 0,
            record: None,
            span: None,
        };
        // The server, borrowed from the finish that keeps it until the response is done
        // (no second reference counted per request).
        let mux: &Mux = &finish.mux;
        if let Some(t) = &mux.tracer {
            finish.span = Some(t.start_server_span(&mux.name, &head, real_ip, mux.https));
        }
        if let Some(log) = &mux.access_log {
            finish.record = Some(Box::new(Record {
                time: SystemTime::now(),
                remote_addr: peer,
                real_ip,
                method: head.method.clone(),
                uri: head
                    .uri
                    .path_and_query()
                    .map_or_else(|| head.uri.to_string(), |p| p.as_str().to_string()),
                version: head.version,
                status: 0,
                duration: Default::default(),
                req_size: 0,
                resp_size: 0,
                req_headers: log.format().wants_req_headers.then(|| head.headers.clone()),
                resp_headers: None,
                tags: Vec::new(),
                host: None,
                user_agent: None,
                referer: None,
            }));
            if let (true, Some(r)) = (log.format().wants_client_headers, &mut finish.record) {
                let h = &head.headers;
                r.host = h.get(HOST).cloned().or_else(|| {
                    let a = head.uri.authority()?;
                    HeaderValue::from_str(a.as_str()).ok()
                });
                r.user_agent = h.get(http::header::USER_AGENT).cloned();
                r.referer = h.get(http::header::REFERER).cloned();
            }
        }

        if let Err(why) = settle_host(&mut head) {
            tracing::debug!(%peer, why, "bad Host; answered 400");
            return finish.respond_status(StatusCode::BAD_REQUEST);
        }
        let routed = {
            let host_with_port = head
                .headers
                .get(HOST)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            let rreq = RouteRequest {
                host: unbracket(strip_port(host_with_port)),
                path: head.uri.path(),
                method: &head.method,
                headers: &head.headers,
                query: head.uri.query().unwrap_or(""),
                ip: real_ip,
            };
            mux.route(&rreq)
        };
        let (ri, rewritten, params) = match routed {
            Ok(r) => r,
            Err(status) => return finish.respond_status(status),
        };
        finish.route = Some(ri);
        let Some(pipeline) = mux.routes[ri].pipeline.get(&mux.sup) else {
            tracing::debug!(backend = %mux.router.routes[ri].backend, "backend pipeline not found");
            return finish.respond_status(StatusCode::SERVICE_UNAVAILABLE);
        };
        if let Some(sh) = &mux.router.routes[ri].set_headers {
            let changes = sh.evaluate(&super::setheaders::Request {
                head: &head,
                real_ip,
                tls: head.extensions.get::<eg_protocols::ClientTls>().is_some(),
                params: &params,
            });
            for (name, value) in changes {
                match value {
                    Some(v) => {
                        head.headers.insert(name, v);
                    }
                    None => {
                        head.headers.remove(name);
                    }
                }
            }
        }
        if let Some(path) = rewritten {
            if set_path(&mut head, &path).is_err() {
                tracing::debug!(%path, "rewritten path is not a valid URI path");
                return finish.respond_status(StatusCode::BAD_REQUEST);
            }
        }
        if mux.x_forwarded_for {
            append_x_forwarded_for(&mut head.headers, real_ip);
        }

        let route_limit = mux.router.routes[ri].client_max_body_size;
        let limit = if route_limit != 0 {
            route_limit
        } else {
            mux.body_limit
        };
        let body = if matches!(body, Body::Empty) {
            // A request read without a body (the own HTTP/1 codec's): nothing to check.
            body
        } else if limit == STREAM_BODY {
            finish.req_size += content_length(&head.headers).unwrap_or(0);
            body
        } else {
            let limit = limit as u64;
            if content_length(&head.headers).is_some_and(|n| n > limit) {
                return finish.respond_status(StatusCode::PAYLOAD_TOO_LARGE);
            }
            let mut body = body;
            match body.buffer(Some(limit)).await {
                Ok(bytes) => finish.req_size += bytes.len() as u64,
                Err(BodyError::TooLarge { .. }) => {
                    return finish.respond_status(StatusCode::PAYLOAD_TOO_LARGE)
                }
                Err(BodyError::Io(e)) => {
                    tracing::debug!(error = %e, "reading the request body failed");
                    return finish.respond_status(StatusCode::BAD_REQUEST);
                }
            }
            body
        };

        let is_head = head.method == http::Method::HEAD;
        // The context ends with this block, dropped where it lives: a `drop(ctx)` would
        // first copy its kilobyte out of the future.
        let response = {
            let mut ctx = Context::received(HttpRequest::new(head, body), peer, real_ip, start);
            ctx.record_tags = finish.record.is_some();
            ctx.route_path_prefix
                .clone_from(&mux.routes[ri].path_prefix);
            ctx.trace = finish.span.as_ref().map(|s| s.request_trace());
            let global = mux.global_filter.as_ref().and_then(|g| g.get(&mux.sup));
            backend::run(&mut ctx, &pipeline, global.as_deref()).await;
            if let Some(r) = finish.record.as_mut() {
                r.tags = std::mem::take(&mut ctx.tags);
            }
            ctx.take_default_response()
        };
        let Some(mut resp) = response else {
            return finish.respond_status(StatusCode::SERVICE_UNAVAILABLE);
        };
        // Whatever a filter or an upstream left in the headers, the framing describes the
        // body that is sent.
        fix_framing(
            &mut resp.headers,
            MessageKind::Response {
                status: resp.status,
                to_head: is_head,
            },
            http_body::Body::size_hint(&resp.body).exact(),
        );
        finish.status = resp.status.as_u16();
        finish.resp_size = resp_meta_size(&resp.headers);
        if let Some(r) = finish.record.as_mut() {
            if mux
                .access_log
                .as_ref()
                .is_some_and(|l| l.format().wants_resp_headers)
            {
                r.resp_headers = Some(resp.headers.clone());
            }
        }
        let mut out = Response::new(LoggedBody {
            inner: resp.body,
            finish: Some(finish),
        });
        *out.status_mut() = resp.status;
        *out.headers_mut() = resp.headers;
        out
    }
}

impl Gate for Mux {
    type Body = LoggedBody;
    type BodyError = BodyError;

    fn handle(
        self: Arc<Self>,
        req: Request<Body>,
        peer: SocketAddr,
    ) -> impl std::future::Future<Output = Response<LoggedBody>> + Send {
        self.serve(req, peer)
    }

    /// A 500 without a body.
    fn internal_error() -> Response<LoggedBody> {
        let mut out = Response::new(LoggedBody {
            inner: Body::Empty,
            finish: None,
        });
        *out.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        out
    }
}

/// Everything recorded when a response is done.
struct Finish {
    mux: Arc<Mux>,
    route: Option<usize>,
    start: Instant,
    status: u16,
    req_size: u64,
    resp_size: u64,
    /// Boxed: the finish travels with every response, and most of its size is the record.
    record: Option<Box<Record>>,
    /// The server span, ended with the status when the response is done.
    span: Option<eg_tracing::ServerSpan>,
}

impl Finish {
    fn respond_status(mut self, status: StatusCode) -> Response<LoggedBody> {
        self.status = status.as_u16();
        self.resp_size = resp_meta_size(&HeaderMap::new());
        let mut out = Response::new(LoggedBody {
            inner: Body::Empty,
            finish: Some(self),
        });
        *out.status_mut() = status;
        out
    }

    fn done(mut self) {
        let now = Instant::now();
        let duration = now.saturating_duration_since(self.start);
        if let Some(span) = self.span.take() {
            span.end(self.status);
        }
        let mux = &self.mux;
        mux.stats
            .server
            .record(self.status, duration, self.req_size, self.resp_size);
        // Like Easegress, per-backend series and topN count routed requests only.
        if let Some(i) = self.route {
            let rt = &mux.routes[i];
            rt.metrics.record(
                self.status,
                duration.as_secs_f64() * 1000.0,
                self.req_size,
                self.resp_size,
                now,
            );
            rt.stats
                .record(self.status, duration, self.req_size, self.resp_size);
        }
        if let (Some(log), Some(mut r)) = (&mux.access_log, self.record) {
            r.status = self.status;
            r.duration = duration;
            r.req_size = self.req_size;
            r.resp_size = self.resp_size;
            log.log(&r);
        }
    }
}

/// The response body: the pipeline's body, counted, with the statistics and the access
/// log line recorded when it ends (or is dropped).
pub(crate) struct LoggedBody {
    inner: Body,
    finish: Option<Finish>,
}

impl Drop for LoggedBody {
    fn drop(&mut self) {
        if let Some(f) = self.finish.take() {
            f.done();
        }
    }
}

impl http_body::Body for LoggedBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let (Some(d), Some(f)) = (frame.data_ref(), this.finish.as_mut()) {
                    f.resp_size += d.len() as u64;
                }
            }
            Poll::Ready(None) | Poll::Ready(Some(Err(_))) => {
                if let Some(f) = this.finish.take() {
                    f.done();
                }
            }
            Poll::Pending => {}
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

/// Checks the host a request is for and leaves it in the one `Host` header (RFC 9112 §3.2,
/// RFC 9113 §8.3.1), as Go's server does: an HTTP/1.1 request needs exactly one valid
/// `Host` (CONNECT excepted); the authority of an absolute-form target or of HTTP/2's
/// `:authority` wins over the header and replaces it, so routing and the upstream see the
/// same host. `Err` names what is wrong (answered 400).
fn settle_host(head: &mut http::request::Parts) -> Result<(), &'static str> {
    let mut hosts = head.headers.get_all(HOST).iter();
    let header = hosts.next();
    if hosts.next().is_some() {
        return Err("more than one Host header");
    }
    if let Some(h) = header {
        // The bytes are checked directly: a valid host is visible ASCII.
        if !valid_host(h.as_bytes()) {
            return Err("malformed Host header");
        }
    }
    match head.uri.authority() {
        Some(authority) => {
            if !valid_host(authority.as_str().as_bytes()) {
                return Err("malformed authority in the request target");
            }
            let h2 = head.version >= http::Version::HTTP_2;
            if h2
                && header.is_some_and(|h| {
                    !h.as_bytes()
                        .eq_ignore_ascii_case(authority.as_str().as_bytes())
                })
            {
                return Err("Host header differs from :authority");
            }
            if header.is_none()
                && head.version == http::Version::HTTP_11
                && head.method != http::Method::CONNECT
            {
                return Err("missing Host header");
            }
            match HeaderValue::from_str(authority.as_str()) {
                Ok(v) => {
                    head.headers.insert(HOST, v);
                }
                Err(_) => return Err("malformed authority in the request target"),
            }
        }
        None => {
            if header.is_none()
                && head.version == http::Version::HTTP_11
                && head.method != http::Method::CONNECT
            {
                return Err("missing Host header");
            }
        }
    }
    Ok(())
}

/// The bytes of a reg-name or IPv4 address (RFC 3986 §3.2.2): unreserved, `%` and the
/// sub-delimiters; a table, since every request's `Host` is checked byte by byte.
static REG_NAME: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = (b as u8).is_ascii_alphanumeric();
        b += 1;
    }
    let extra = b"-._~%!$&'()*+,;=";
    let mut i = 0;
    while i < extra.len() {
        t[extra[i] as usize] = true;
        i += 1;
    }
    t
};

/// Whether `h` is a valid `host[:port]` (RFC 3986 §3.2.2): a bracketed IPv6 address or a
/// non-empty reg-name/IPv4 of unreserved, percent and sub-delimiter characters, then an
/// optional port of digits.
fn valid_host(h: &[u8]) -> bool {
    let (host_ok, port) = if let Some(rest) = h.strip_prefix(b"[") {
        match rest.iter().position(|&b| b == b']') {
            Some(end) => (
                std::str::from_utf8(&rest[..end])
                    .is_ok_and(|a| a.parse::<std::net::Ipv6Addr>().is_ok()),
                &rest[end + 1..],
            ),
            None => return false,
        }
    } else {
        // One pass: the host runs to the first byte that is not a reg-name's (`:` is
        // not), and only a port may follow it.
        let end = h
            .iter()
            .position(|&b| !REG_NAME[b as usize])
            .unwrap_or(h.len());
        let (host, port) = h.split_at(end);
        (
            !host.is_empty() && (port.is_empty() || port.starts_with(b":")),
            port,
        )
    };
    let port_ok = match port.strip_prefix(b":") {
        None => port.is_empty(),
        Some(digits) => digits.len() <= 5 && digits.iter().all(u8::is_ascii_digit),
    };
    host_ok && port_ok
}

/// Approximate size of the request line and headers.
fn meta_size(head: &http::request::Parts) -> u64 {
    let line =
        head.method.as_str().len() + head.uri.path_and_query().map_or(1, |p| p.as_str().len()) + 11;
    let headers: usize = head
        .headers
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum();
    (line + headers + 2) as u64
}

/// Approximate size of the status line and headers.
fn resp_meta_size(h: &HeaderMap) -> u64 {
    let headers: usize = h.iter().map(|(k, v)| k.as_str().len() + v.len() + 4).sum();
    (17 + headers + 2) as u64
}

fn set_path(head: &mut http::request::Parts, path: &str) -> Result<(), http::Error> {
    let pq = match head.uri.query() {
        Some(q) => format!("{path}?{q}"),
        None => path.to_string(),
    };
    let mut parts = std::mem::take(&mut head.uri).into_parts();
    parts.path_and_query = Some(pq.parse()?);
    head.uri = http::Uri::from_parts(parts)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_stripped() {
        assert_eq!(unbracket(strip_port("a.com:80")), "a.com");
        assert_eq!(unbracket(strip_port("[::1]:80")), "::1");
        assert_eq!(unbracket(strip_port("[::1]")), "::1");
        assert_eq!(unbracket(strip_port("a.com")), "a.com");
    }

    #[test]
    fn hosts_are_checked() {
        for good in [
            "a.com",
            "a.com:80",
            "127.0.0.1",
            "127.0.0.1:8080",
            "[::1]",
            "[::1]:80",
            "a-b_c.d~e",
            "a.com:",
        ] {
            assert!(valid_host(good.as_bytes()), "{good}");
        }
        for bad in [
            "",
            ":80",
            "a.com:8x",
            "a com",
            "a.com:80:90",
            "[::1",
            "[zz]:80",
            "u@a.com",
            "a/b",
            "a.com:123456",
            "[::1]x",
        ] {
            assert!(!valid_host(bad.as_bytes()), "{bad}");
        }
        // A header value may carry bytes that are not ASCII.
        for bad in [&b"a\xff.com"[..], b"[::1\xff]", b"a.com:8\x80", b"\t"] {
            assert!(!valid_host(bad), "{bad:?}");
        }
    }

    fn head(version: http::Version, uri: &str, hosts: &[&str]) -> http::request::Parts {
        let mut b = Request::builder().version(version).uri(uri);
        for h in hosts {
            b = b.header(HOST, *h);
        }
        b.body(()).unwrap().into_parts().0
    }

    #[test]
    fn host_rules_of_http1() {
        use http::Version;
        assert!(settle_host(&mut head(Version::HTTP_11, "/x", &["a.com"])).is_ok());
        assert_eq!(
            settle_host(&mut head(Version::HTTP_11, "/x", &[])),
            Err("missing Host header")
        );
        assert_eq!(
            settle_host(&mut head(Version::HTTP_11, "/x", &["a.com", "b.com"])),
            Err("more than one Host header")
        );
        assert_eq!(
            settle_host(&mut head(Version::HTTP_11, "/x", &[""])),
            Err("malformed Host header")
        );
        assert_eq!(
            settle_host(&mut head(Version::HTTP_11, "/x", &["a b"])),
            Err("malformed Host header")
        );
        // HTTP/1.0 needs no Host.
        assert!(settle_host(&mut head(Version::HTTP_10, "/x", &[])).is_ok());
        // Absolute form: the target's authority wins and replaces the header.
        let mut h = head(Version::HTTP_11, "http://b.com:81/x", &["a.com"]);
        assert!(settle_host(&mut h).is_ok());
        assert_eq!(h.headers[HOST], "b.com:81");
        assert_eq!(h.headers.get_all(HOST).iter().count(), 1);
    }

    #[test]
    fn host_rules_of_http2() {
        use http::Version;
        let mut h = head(Version::HTTP_2, "https://b.com/x", &[]);
        assert!(settle_host(&mut h).is_ok());
        assert_eq!(h.headers[HOST], "b.com");
        assert!(settle_host(&mut head(Version::HTTP_2, "https://b.com/x", &["B.com"])).is_ok());
        assert_eq!(
            settle_host(&mut head(Version::HTTP_2, "https://b.com/x", &["a.com"])),
            Err("Host header differs from :authority")
        );
    }
}
