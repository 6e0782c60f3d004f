//! Tests of the Proxy filter: mock upstreams on 127.0.0.1:0 driven through the filter with
//! a real `Context`.

mod balance;
mod breaker;
mod failures;
mod features;
mod forwarding;
mod framing;
mod health;
mod spec_errors;
mod tls;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use bytes::Bytes;
use eg_protocols::{Body, BodyError, Context, HttpRequest, HttpResponse};
use eg_spec::SpecError;
use eg_supervisor::{KindRegistry, MemberInfo, Supervisor};
use http::{HeaderMap, Method, StatusCode};
use http_body::Frame;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use parking_lot::Mutex;
use serde_json::{json, Map, Value};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use super::Proxy;
use crate::filter::Filter;
use crate::resilience::Policies;

/// What a mock upstream saw of one request.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: Method,
    /// Path and query exactly as received.
    pub target: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// What a mock upstream answers.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Body,
    /// Wait this long before answering.
    pub delay: Option<Duration>,
}

impl Reply {
    pub fn text(status: u16, body: &str) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: Body::full(body.to_string()),
            delay: None,
        }
    }

    pub fn header(mut self, name: &'static str, value: &str) -> Reply {
        self.headers.push((name, value.to_string()));
        self
    }
}

type Handler = Arc<dyn Fn(&Seen) -> Reply + Send + Sync>;

/// A mock upstream HTTP/1.1 server.
pub struct Upstream {
    pub addr: SocketAddr,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    pub hits: Arc<AtomicUsize>,
    /// Connections accepted.
    pub conns: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Upstream {
    pub async fn start(handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> Upstream {
        Upstream::start_with(None, handler).await
    }

    /// Like [`Upstream::start`], speaking TLS through `tls` when given.
    pub async fn start_with(
        tls: Option<tokio_rustls::TlsAcceptor>,
        handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static,
    ) -> Upstream {
        let handler: Handler = Arc::new(handler);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let hits = Arc::new(AtomicUsize::new(0));
        let (s2, h2) = (seen.clone(), hits.clone());
        let conns = Arc::new(AtomicUsize::new(0));
        let c2 = conns.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                c2.fetch_add(1, Ordering::SeqCst);
                let (handler, seen, hits) = (handler.clone(), s2.clone(), h2.clone());
                let tls = tls.clone();
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req: http::Request<Incoming>| {
                        let (handler, seen, hits) = (handler.clone(), seen.clone(), hits.clone());
                        async move {
                            let (head, body) = req.into_parts();
                            let body = body
                                .collect()
                                .await
                                .map(|c| c.to_bytes())
                                .unwrap_or_default();
                            let s = Seen {
                                method: head.method,
                                target: head
                                    .uri
                                    .path_and_query()
                                    .map(|p| p.as_str().to_string())
                                    .unwrap_or_default(),
                                headers: head.headers,
                                body,
                            };
                            let reply = handler(&s);
                            seen.lock().push(s);
                            hits.fetch_add(1, Ordering::SeqCst);
                            if let Some(d) = reply.delay {
                                tokio::time::sleep(d).await;
                            }
                            let mut resp = http::Response::new(reply.body);
                            *resp.status_mut() = StatusCode::from_u16(reply.status).unwrap();
                            for (k, v) in reply.headers {
                                resp.headers_mut().append(k, v.parse().unwrap());
                            }
                            Ok::<_, Infallible>(resp)
                        }
                    });
                    let http = hyper::server::conn::http1::Builder::new();
                    match tls {
                        None => {
                            let _ = http.serve_connection(TokioIo::new(stream), svc).await;
                        }
                        Some(acceptor) => {
                            if let Ok(s) = acceptor.accept(stream).await {
                                let _ = http.serve_connection(TokioIo::new(s), svc).await;
                            }
                        }
                    }
                });
            }
        });
        Upstream {
            addr,
            seen,
            hits,
            conns,
            task,
        }
    }

    /// An upstream answering 200 with `name` as the body.
    pub async fn named(name: &'static str) -> Upstream {
        Upstream::start(move |_| Reply::text(200, name)).await
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    pub fn last(&self) -> Seen {
        self.seen.lock().last().cloned().expect("no request seen")
    }
}

/// An upstream that answers every request head it reads with fixed bytes, whatever they
/// say (for answers a well-behaved HTTP server would not send). Request bodies are not read.
pub struct RawUpstream {
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for RawUpstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl RawUpstream {
    pub async fn start(answer: &'static [u8]) -> RawUpstream {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    return;
                };
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    loop {
                        match stream.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                        while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            buf.drain(..end + 4);
                            if stream.write_all(answer).await.is_err() {
                                return;
                            }
                        }
                    }
                });
            }
        });
        RawUpstream { addr, task }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// A body fed through a channel (a stream the test controls).
pub struct ChanBody(pub mpsc::UnboundedReceiver<Result<Bytes, BodyError>>);

impl http_body::Body for ChanBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        self.0.poll_recv(cx).map(|o| o.map(|r| r.map(Frame::data)))
    }
}

/// A streamed body and its sender.
pub fn chan_body() -> (mpsc::UnboundedSender<Result<Bytes, BodyError>>, Body) {
    let (tx, rx) = mpsc::unbounded_channel();
    (
        tx,
        Body::Stream(http_body_util::combinators::UnsyncBoxBody::new(ChanBody(
            rx,
        ))),
    )
}

pub fn supervisor() -> Supervisor {
    Supervisor::new(
        KindRegistry::new(),
        Arc::new(eg_store::MemStore::new()),
        MemberInfo::standalone("test-member"),
    )
}

/// Builds a Proxy called `proxy` at `filters[0]` from `doc`.
pub fn try_build(doc: Value) -> Result<Proxy, SpecError> {
    try_build_with(doc, &Map::new(), &supervisor())
}

pub fn try_build_with(
    mut doc: Value,
    resilience: &Map<String, Value>,
    sup: &Supervisor,
) -> Result<Proxy, SpecError> {
    if let Some(m) = doc.as_object_mut() {
        m.insert("name".into(), "proxy".into());
        m.insert("kind".into(), "Proxy".into());
    }
    let list: Vec<Value> = resilience.values().cloned().collect();
    let (policies, _) = Policies::decode(&list, "resilience")?;
    Proxy::build(
        &doc,
        "filters[0]",
        "proxy",
        &crate::BuildContext::new(sup, &policies),
    )
}

/// Builds and initialises a Proxy.
pub fn proxy(doc: Value) -> Proxy {
    let p = try_build(doc).unwrap();
    p.init(None);
    p
}

/// A Proxy with one main pool over `urls`, plus extra pool fields.
pub fn simple(urls: &[String], pool_extra: Value) -> Proxy {
    let mut pool = json!({"servers": urls.iter().map(|u| json!({"url": u})).collect::<Vec<_>>()});
    merge(&mut pool, pool_extra);
    proxy(json!({"pools": [pool]}))
}

pub fn merge(a: &mut Value, b: Value) {
    if let (Some(a), Value::Object(b)) = (a.as_object_mut(), b) {
        for (k, v) in b {
            a.insert(k, v);
        }
    }
}

/// A context for `method target` with headers, from client 10.0.0.1.
pub fn ctx(method: &str, target: &str, headers: &[(&str, &str)]) -> Context {
    ctx_from(method, target, headers, "10.0.0.1")
}

pub fn ctx_from(method: &str, target: &str, headers: &[(&str, &str)], ip: &str) -> Context {
    let mut req = HttpRequest::simple(method.parse().unwrap(), target).unwrap();
    for (k, v) in headers {
        req.headers_mut().append(
            http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    let ip: std::net::IpAddr = ip.parse().unwrap();
    Context::new(req, SocketAddr::new(ip, 40000), ip)
}

/// Runs the filter; returns the result.
pub async fn run(p: &Proxy, ctx: &mut Context) -> &'static str {
    p.handle(ctx).result().await
}

pub fn response(ctx: &Context) -> &HttpResponse {
    ctx.response().expect("no response")
}

/// The response body, read to the end.
pub async fn body_text(ctx: &mut Context) -> String {
    let r = ctx.response_mut().expect("no response");
    let b = r.body.buffer(None).await.unwrap();
    String::from_utf8_lossy(&b).into_owned()
}

/// Polls `cond` until it holds (or panics after a generous deadline).
pub async fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..1000 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}

/// An address nothing listens on.
pub async fn closed_port() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let a = l.local_addr().unwrap();
    drop(l);
    a
}
