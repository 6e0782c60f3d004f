//! End-to-end tests of the HTTPServer kind: a supervisor over a memory store running real
//! pipelines with a test `Echo` filter, and HTTP clients on 127.0.0.1.

mod hardening;
mod http1;
mod idle;
mod lifecycle;
mod routing;
mod tls;
mod tracing;
mod validation;
mod websocket;

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use bytes::Bytes;
use eg_filters::{BuildContext, Built, Filter, FilterKind, FilterSpec, Handled};
use eg_protocols::{Body, BodyError, Context, HttpResponse};
use eg_spec::SpecError;
use eg_supervisor::{KindRegistry, MemberInfo, Spec, Supervisor};
pub use eg_testkit::free_port;
use eg_testkit::poll_until;
use http::{HeaderMap, StatusCode, Version};
use http_body::{Frame, SizeHint};
use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::{HttpServer, HttpServerKind};
use crate::globalfilter::GlobalFilterKind;
use crate::pipeline::PipelineKind;

/// A test filter answering 200 with a JSON echo of the request it got:
/// `{server, method, path, query, body, headers, realIp}`. With `sse: true` it answers an
/// event stream whose second event waits for [`SSE_GATE`].
pub const ECHO: FilterKind = FilterKind {
    kind: "Echo",
    description: "test echo",
    results: &[],
    default_spec: || json!({}),
    schema: eg_filters::object_schema,
    build: build_echo,
    check: None,
};

/// Released by the SSE test once the first event arrived.
pub static SSE_GATE: tokio::sync::Notify = tokio::sync::Notify::const_new();

#[derive(Deserialize)]
struct EchoSpec {
    #[serde(default)]
    label: String,
    #[serde(default)]
    sse: bool,
    #[serde(default)]
    panic: bool,
}

struct Echo {
    label: String,
    sse: bool,
    panic: bool,
}

fn build_echo(spec: &FilterSpec, _: &BuildContext<'_>) -> Result<Built, SpecError> {
    let (s, warnings) = eg_filters::spec::decode_filter_spec::<EchoSpec>(spec)?.into_parts();
    Ok(Built::new(
        Echo {
            label: s.label,
            sse: s.sse,
            panic: s.panic,
        },
        warnings,
    ))
}

impl Filter for Echo {
    fn handle<'a>(&'a self, ctx: &'a mut Context) -> Handled<'a> {
        Handled::Pending(Box::pin(async move {
            if self.panic {
                panic!("test filter panics on purpose");
            }
            if self.sse {
                let (tx, body) = eg_testkit::channel_body::<BodyError>();
                tokio::spawn(async move {
                    let _ = tx.send(Ok(Bytes::from_static(b"data: one\n\n")));
                    SSE_GATE.notified().await;
                    let _ = tx.send(Ok(Bytes::from_static(b"data: two\n\n")));
                });
                let mut resp = HttpResponse::new(StatusCode::OK);
                resp.set_header(http::header::CONTENT_TYPE, "text/event-stream");
                resp.body = Body::Stream(http_body_util::combinators::UnsyncBoxBody::new(body));
                ctx.set_response(resp);
                return "";
            }
            let real_ip = ctx.real_ip.to_string();
            let Some(req) = ctx.request_mut() else {
                return "";
            };
            let body = req.body.buffer(None).await.unwrap_or_default();
            let mut headers = Map::new();
            for (k, v) in req.headers() {
                headers.insert(k.as_str().to_string(), json!(v.to_str().unwrap_or("")));
            }
            let doc = json!({
                "server": self.label,
                "method": req.method().as_str(),
                "path": req.path(),
                "query": req.query(),
                "bodyLen": body.len(),
                "body": String::from_utf8_lossy(&body),
                "headers": headers,
                "realIp": real_ip,
                "overTls": req.over_tls(),
            });
            let mut resp = HttpResponse::with_body(StatusCode::OK, doc.to_string());
            resp.set_header(http::header::CONTENT_TYPE, "application/json");
            ctx.set_response(resp);
            ""
        }))
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// A supervisor knowing HTTPServer, Pipeline (with Echo and the test filters) and
/// GlobalFilter; the access log goes to `log_dir`, or is off.
pub fn supervisor(log_dir: Option<std::path::PathBuf>) -> Supervisor {
    let mut filters = eg_filters::FilterRegistry::new();
    filters
        .register(ECHO)
        .register(crate::testkit::STEP)
        .register(eg_filters::mock::KIND)
        .register(eg_filters::certextractor::KIND)
        .register(eg_filters::redirectorv2::KIND)
        .register(eg_filters::proxy::KIND)
        .register(eg_filters::websocketproxy::KIND);
    let filters = Arc::new(filters);
    let mut kinds = KindRegistry::new();
    kinds
        .register(Arc::new(PipelineKind::new(filters.clone())))
        .register(Arc::new(GlobalFilterKind::new(filters)))
        .register(Arc::new(HttpServerKind::new()));
    let mut member = MemberInfo::standalone("test-member");
    match log_dir {
        Some(d) => member.log_dir = Some(d),
        None => member.options.disable_access_log = true,
    }
    Supervisor::new(kinds, Arc::new(eg_store::MemStore::new()), member)
}

/// An echo pipeline answering with `label`.
pub fn echo(name: &str, label: &str) -> Value {
    json!({
        "name": name, "kind": "Pipeline",
        "flow": [{"filter": "echo"}],
        "filters": [{"name": "echo", "kind": "Echo", "label": label}],
    })
}

/// A TLS connection to 127.0.0.1:`port` that trusts `root` for the name `localhost` and
/// offers HTTP/1.1 by ALPN (and checks that the server chose it).
pub async fn tls_http1(
    port: u16,
    root: rustls::pki_types::CertificateDer<'static>,
) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(root).unwrap();
    let mut cfg = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let tls = tokio_rustls::TlsConnector::from(Arc::new(cfg))
        .connect(name, tcp)
        .await
        .unwrap();
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
    tls
}

/// An HTTPServer spec on 127.0.0.1:`port` with `fields` merged in.
pub fn server(name: &str, port: u16, fields: Value) -> Value {
    let mut doc = json!({"name": name, "kind": "HTTPServer", "port": port, "address": "127.0.0.1"});
    if let (Some(d), Some(f)) = (doc.as_object_mut(), fields.as_object()) {
        for (k, v) in f {
            d.insert(k.clone(), v.clone());
        }
    }
    doc
}

/// Applies a spec (any kind).
pub fn apply(sup: &Supervisor, doc: Value) {
    sup.apply_spec(Spec::from_doc(doc).unwrap());
}

/// The running server `name`.
pub fn running(sup: &Supervisor, name: &str) -> Arc<HttpServer> {
    crate::testkit::running::<HttpServer>(sup, name)
}

/// Applies a server spec and waits until it listens.
pub async fn start(sup: &Supervisor, doc: Value) -> Arc<HttpServer> {
    let name = doc["name"].as_str().unwrap().to_string();
    apply(sup, doc);
    let s = running(sup, &name);
    wait_state(&s, "running").await;
    s
}

/// Polls until the server reports `state`.
pub async fn wait_state(s: &HttpServer, state: &str) {
    if !poll_until(Duration::from_secs(10), || s.state() == state).await {
        panic!("server never became {state}: {}", s.state());
    }
}

/// A request body: chunks, sent with a Content-Length or chunked.
pub struct TestBody {
    chunks: VecDeque<Bytes>,
    exact: Option<u64>,
}

impl TestBody {
    /// No body.
    pub fn empty() -> TestBody {
        TestBody {
            chunks: VecDeque::new(),
            exact: Some(0),
        }
    }

    /// A body with a Content-Length.
    pub fn full(b: impl Into<Bytes>) -> TestBody {
        let b = b.into();
        TestBody {
            exact: Some(b.len() as u64),
            chunks: VecDeque::from([b]),
        }
    }

    /// A chunked body.
    pub fn chunked(chunks: Vec<Bytes>) -> TestBody {
        TestBody {
            chunks: chunks.into(),
            exact: None,
        }
    }
}

impl http_body::Body for TestBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Poll::Ready(self.chunks.pop_front().map(|b| Ok(Frame::data(b))))
    }
    fn is_end_stream(&self) -> bool {
        self.chunks.is_empty()
    }
    fn size_hint(&self) -> SizeHint {
        match self.exact {
            Some(n) => SizeHint::with_exact(n),
            None => SizeHint::default(),
        }
    }
}

/// A response as the tests look at it.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
    pub version: Version,
}

impl Resp {
    /// The body as JSON (the echo).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {self:?}"))
    }

    /// The echoing backend's label.
    pub fn server(&self) -> String {
        assert_eq!(self.status, 200, "{self:?}");
        self.json()["server"].as_str().unwrap_or("").to_string()
    }
}

/// One HTTP/1.1 client connection.
pub struct Conn {
    send: hyper::client::conn::http1::SendRequest<TestBody>,
    pub closed: tokio::task::JoinHandle<()>,
}

impl Conn {
    /// Connects to 127.0.0.1:`port`.
    pub async fn open(port: u16) -> Conn {
        let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        let closed = tokio::spawn(async move {
            let _ = conn.await;
        });
        Conn { send, closed }
    }

    /// Sends a request on this connection.
    pub async fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: TestBody,
    ) -> Resp {
        let mut b = http::Request::builder().method(method).uri(path);
        if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
            b = b.header("host", "127.0.0.1");
        }
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        self.send.ready().await.unwrap();
        let resp = self.send.send_request(b.body(body).unwrap()).await.unwrap();
        collect(resp).await
    }
}

/// Reads a whole response.
pub async fn collect<B>(resp: http::Response<B>) -> Resp
where
    B: http_body::Body<Data = Bytes>,
    B::Error: std::fmt::Debug,
{
    let (parts, body) = resp.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    Resp {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
        version: parts.version,
    }
}

/// One request on a fresh connection.
pub async fn send(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: TestBody,
) -> Resp {
    Conn::open(port)
        .await
        .request(method, path, headers, body)
        .await
}

/// `GET path` on a fresh connection.
pub async fn get(port: u16, path: &str) -> Resp {
    send(port, "GET", path, &[], TestBody::empty()).await
}

/// `GET path` with headers.
pub async fn get_h(port: u16, path: &str, headers: &[(&str, &str)]) -> Resp {
    send(port, "GET", path, headers, TestBody::empty()).await
}
