//! Mock upstream servers on 127.0.0.1:0: one speaking HTTP/1.1 (optionally over TLS) with
//! answers a closure chooses, one answering fixed bytes whatever it is asked.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use parking_lot::Mutex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// The body of a [`Reply`]: any body, boxed (see [`boxed`]).
pub type ReplyBody = UnsyncBoxBody<Bytes, Box<dyn std::error::Error + Send + Sync>>;

/// Boxes any body (a stream the test feeds, say) as a [`ReplyBody`].
pub fn boxed<B>(body: B) -> ReplyBody
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    body.map_err(Into::into).boxed_unsync()
}

/// What a mock upstream saw of one request.
#[derive(Debug, Clone)]
pub struct Seen {
    /// The method.
    pub method: Method,
    /// Path and query exactly as received.
    pub target: String,
    /// The header fields.
    pub headers: HeaderMap,
    /// The whole body.
    pub body: Bytes,
}

/// What a mock upstream answers.
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// Header fields added to the answer.
    pub headers: Vec<(&'static str, String)>,
    /// The body.
    pub body: ReplyBody,
    /// Wait this long before answering.
    pub delay: Option<Duration>,
}

impl Reply {
    /// An answer with `status` and a text body.
    pub fn text(status: u16, body: &str) -> Reply {
        Reply::new(status, Full::new(Bytes::from(body.to_string())))
    }

    /// An answer with `status` and any body.
    pub fn new<B>(status: u16, body: B) -> Reply
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        Reply {
            status,
            headers: Vec::new(),
            body: boxed(body),
            delay: None,
        }
    }

    /// Adds a header field.
    pub fn header(mut self, name: &'static str, value: &str) -> Reply {
        self.headers.push((name, value.to_string()));
        self
    }

    /// Answers only after `delay`.
    pub fn delayed(mut self, delay: Duration) -> Reply {
        self.delay = Some(delay);
        self
    }
}

type Handler = Arc<dyn Fn(&Seen) -> Reply + Send + Sync>;

/// A mock upstream HTTP/1.1 server: every request is recorded, then answered with what the
/// handler returns for it. Stops when dropped.
pub struct Upstream {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Every request seen, in order.
    pub seen: Arc<Mutex<Vec<Seen>>>,
    /// Requests answered.
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
    /// An upstream answering every request with `handler(request)`.
    pub async fn start(handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> Upstream {
        Upstream::start_with(None, handler).await
    }

    /// Like [`Upstream::start`], speaking TLS through `tls` when given.
    pub async fn start_with(
        tls: Option<tokio_rustls::TlsAcceptor>,
        handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static,
    ) -> Upstream {
        let handler: Handler = Arc::new(handler);
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let hits = Arc::new(AtomicUsize::new(0));
        let conns = Arc::new(AtomicUsize::new(0));
        let (s2, h2, c2) = (seen.clone(), hits.clone(), conns.clone());
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
                            let s = read_request(req).await;
                            let reply = handler(&s);
                            seen.lock().push(s);
                            hits.fetch_add(1, Ordering::SeqCst);
                            Ok::<_, Infallible>(respond(reply).await)
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

    /// `http://<addr>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Requests answered so far.
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    /// The last request seen; panics when there was none.
    pub fn last(&self) -> Seen {
        self.seen.lock().last().cloned().expect("no request seen")
    }
}

async fn read_request(req: http::Request<Incoming>) -> Seen {
    let (head, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    Seen {
        method: head.method,
        target: head
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_default(),
        headers: head.headers,
        body,
    }
}

async fn respond(reply: Reply) -> http::Response<ReplyBody> {
    if let Some(d) = reply.delay {
        tokio::time::sleep(d).await;
    }
    let mut resp = http::Response::new(reply.body);
    *resp.status_mut() = StatusCode::from_u16(reply.status).expect("a valid status code");
    for (k, v) in reply.headers {
        resp.headers_mut()
            .append(k, v.parse().expect("a valid header value"));
    }
    resp
}

/// An upstream that answers every request head it reads with fixed bytes, whatever they
/// say (for answers a well-behaved HTTP server would not send). Request bodies are not
/// read. Stops when dropped.
pub struct RawUpstream {
    /// Where it listens.
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for RawUpstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl RawUpstream {
    /// An upstream answering `answer` to every request head.
    pub async fn start(answer: &'static [u8]) -> RawUpstream {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
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

    /// `http://<addr>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// A body whose chunks the test sends one by one (see [`channel_body`]); it ends when the
/// sender is dropped.
pub struct ChannelBody<E>(tokio::sync::mpsc::UnboundedReceiver<Result<Bytes, E>>);

impl<E> http_body::Body for ChannelBody<E> {
    type Data = Bytes;
    type Error = E;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, E>>> {
        self.0
            .poll_recv(cx)
            .map(|o| o.map(|r| r.map(http_body::Frame::data)))
    }
}

/// A streamed body and the sender that feeds it (an `Err` breaks the body off).
pub fn channel_body<E>() -> (
    tokio::sync::mpsc::UnboundedSender<Result<Bytes, E>>,
    ChannelBody<E>,
) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    (tx, ChannelBody(rx))
}
