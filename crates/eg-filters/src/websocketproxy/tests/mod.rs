//! Tests of the WebSocketProxy filter: a small gateway (hyper with upgrades, the filter run
//! on a real `Context`, the request's extensions kept as the HTTPServer keeps them) in
//! front of WebSocket echo servers on 127.0.0.1:0.

mod handshake;
mod health;
mod relay;
mod spec_errors;
mod sticky;
mod tls;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use eg_protocols::{Body, Context, HttpRequest, HttpResponse};
pub use eg_testkit::{WsEcho, WAIT_TIMEOUT};
use http::StatusCode;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Response;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::WebSocketStream;

use crate::filter::Filter;
use crate::registry::FilterKind;

/// A client WebSocket.
pub type Client = WebSocketStream<TcpStream>;

/// A gateway running `filter` for every request.
pub struct Gateway {
    /// Its address.
    pub addr: SocketAddr,
    /// The filter (for its status).
    pub filter: Arc<dyn Filter>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Builds and starts a filter of `kind` from `doc`.
pub fn filter_of(kind: &FilterKind, doc: Value) -> Arc<dyn Filter> {
    let f: Arc<dyn Filter> = crate::testkit::build(kind, doc).unwrap().into();
    f.init(None);
    f
}

impl Gateway {
    /// A gateway with a WebSocketProxy built from `doc`.
    pub async fn start(doc: Value) -> Gateway {
        Self::with(filter_of(&super::KIND, doc)).await
    }

    /// A gateway running `filter`.
    pub async fn with(filter: Arc<dyn Filter>) -> Gateway {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let f = filter.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, peer)) = listener.accept().await else {
                    continue;
                };
                let f = f.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let f = f.clone();
                        async move { Ok::<_, Infallible>(run(&*f, req, peer).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .with_upgrades()
                        .await;
                });
            }
        });
        Gateway { addr, filter, task }
    }

    /// `ws://<addr><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("ws://{}{path}", self.addr)
    }

    /// The filter status.
    pub fn status(&self) -> Value {
        self.filter.status()
    }
}

async fn run(
    f: &dyn Filter,
    req: http::Request<hyper::body::Incoming>,
    peer: SocketAddr,
) -> http::Response<Body> {
    let (head, body) = req.into_parts();
    let mut ctx = Context::new(
        HttpRequest::new(head, Body::Incoming(body)),
        peer,
        peer.ip(),
    );
    let _ = f.handle(&mut ctx).result().await;
    let resp = ctx
        .take_default_response()
        .unwrap_or_else(|| HttpResponse::new(StatusCode::SERVICE_UNAVAILABLE));
    let mut out = http::Response::new(resp.body);
    *out.status_mut() = resp.status;
    *out.headers_mut() = resp.headers;
    out
}

/// A WebSocketProxy spec with one pool of `servers` and extra pool fields.
pub fn spec(servers: &[&str], pool: Value) -> Value {
    let servers: Vec<Value> = servers.iter().map(|u| json!({"url": u})).collect();
    let mut p = json!({"servers": servers});
    if let (Some(m), Value::Object(extra)) = (p.as_object_mut(), pool) {
        m.extend(extra);
    }
    json!({"pools": [p]})
}

/// Opens a client WebSocket to `url` with `headers`, without message limits.
pub async fn connect(url: &str, headers: &[(&str, &str)]) -> Result<(Client, Response), WsError> {
    let mut req = url.into_client_request()?;
    for (k, v) in headers {
        req.headers_mut().insert(
            http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    let authority = req.uri().authority().unwrap().as_str().to_string();
    let tcp = TcpStream::connect(authority).await?;
    let mut config = WebSocketConfig::default();
    config.max_message_size = None;
    config.max_frame_size = None;
    tokio_tungstenite::client_async_with_config(req, tcp, Some(config)).await
}

/// The status the gateway answered a handshake with (101 on success).
pub async fn handshake_status(url: &str, headers: &[(&str, &str)]) -> u16 {
    match connect(url, headers).await {
        Ok((_, resp)) => resp.status().as_u16(),
        Err(WsError::Http(resp)) => resp.status().as_u16(),
        Err(e) => panic!("handshake failed without an answer: {e}"),
    }
}

/// Polls `f` (every 20ms) until it returns `Some`, failing after [`WAIT_TIMEOUT`].
pub async fn until<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + WAIT_TIMEOUT;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The next message the client receives (pongs included), failing after [`WAIT_TIMEOUT`].
pub async fn next(c: &mut Client) -> tokio_tungstenite::tungstenite::Message {
    use futures_util::StreamExt;
    match tokio::time::timeout(WAIT_TIMEOUT, c.next()).await {
        Ok(Some(Ok(m))) => m,
        other => panic!("no message: {other:?}"),
    }
}

/// Reads until the gateway closes the connection (sending the client's close answer).
pub async fn finish(mut c: Client) {
    use futures_util::StreamExt;
    let _ = tokio::time::timeout(WAIT_TIMEOUT, async { while c.next().await.is_some() {} }).await;
}
