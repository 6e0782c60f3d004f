//! gRPC peers without code generation: raw gRPC framing (a compression flag, a 4-byte
//! big-endian length, the message) over hyper's HTTP/2 with prior knowledge (h2c), with the
//! call's outcome in `grpc-status`/`grpc-message` trailers.
//!
//! [`GrpcUpstream`] is a test service whose behaviour the method name chooses (see
//! [`GrpcUpstream::start`]); [`GrpcClient`] makes unary and streaming calls.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use http::{HeaderMap, HeaderValue, Request, Response};
use http_body::Frame;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use parking_lot::Mutex;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// One message framed for the wire (uncompressed).
pub fn grpc_frame(message: &[u8]) -> Bytes {
    let mut b = BytesMut::with_capacity(5 + message.len());
    b.put_u8(0);
    b.put_u32(message.len() as u32);
    b.put_slice(message);
    b.freeze()
}

/// Reads gRPC messages off a body as their bytes arrive.
pub struct MessageReader {
    body: Incoming,
    buf: BytesMut,
    trailers: Option<HeaderMap>,
}

impl MessageReader {
    /// Reads `body`.
    pub fn new(body: Incoming) -> MessageReader {
        MessageReader {
            body,
            buf: BytesMut::new(),
            trailers: None,
        }
    }

    /// The next whole message; `None` at the end of the body (or on a broken stream).
    pub async fn next(&mut self) -> Option<Bytes> {
        loop {
            if self.buf.len() >= 5 {
                let len = u32::from_be_bytes([self.buf[1], self.buf[2], self.buf[3], self.buf[4]])
                    as usize;
                if self.buf.len() >= 5 + len {
                    self.buf.advance(5);
                    return Some(self.buf.split_to(len).freeze());
                }
            }
            match self.body.frame().await? {
                Ok(frame) => match frame.into_data() {
                    Ok(d) => self.buf.extend_from_slice(&d),
                    Err(frame) => {
                        if let Ok(t) = frame.into_trailers() {
                            self.trailers = Some(t);
                        }
                    }
                },
                Err(_) => return None,
            }
        }
    }

    /// Every remaining message.
    pub async fn all(&mut self) -> Vec<Bytes> {
        let mut out = Vec::new();
        while let Some(m) = self.next().await {
            out.push(m);
        }
        out
    }

    /// The trailers, once the body has ended.
    pub fn trailers(&self) -> Option<&HeaderMap> {
        self.trailers.as_ref()
    }
}

/// A body of frames the sender pushes: messages, then trailers.
pub struct FrameBody(mpsc::UnboundedReceiver<Frame<Bytes>>);

impl http_body::Body for FrameBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.0.poll_recv(cx).map(|f| f.map(Ok))
    }
}

/// A new [`FrameBody`] and its sender.
pub fn frame_body() -> (mpsc::UnboundedSender<Frame<Bytes>>, FrameBody) {
    let (tx, rx) = mpsc::unbounded_channel();
    (tx, FrameBody(rx))
}

/// Trailers with `grpc-status` and, when not empty, `grpc-message`.
pub fn status_trailers(code: u32, message: &str) -> HeaderMap {
    let mut t = HeaderMap::new();
    t.insert("grpc-status", HeaderValue::from(code));
    if let Ok(v) = HeaderValue::from_str(message) {
        if !message.is_empty() {
            t.insert("grpc-message", v);
        }
    }
    t
}

/// What a [`GrpcUpstream`] saw of one call.
#[derive(Debug, Clone)]
pub struct GrpcSeen {
    /// The full method, `/package.Service/Method`.
    pub method: String,
    /// The request headers (metadata).
    pub headers: HeaderMap,
}

/// A gRPC test service on 127.0.0.1. Every answer carries the header
/// `x-upstream: <label>` and the trailer `x-upstream-trailer: <label>`. The method name
/// (after the last `/`) chooses what it does:
///
/// - `Unary`: answers each request message with `<label>:<message>`, after the request
///   ended; `ClientStream`: one message `<count>:<messages joined by ,>`;
/// - `ServerStream`: the request message is a number `n`; answers `0`, `1`, … `n-1`;
/// - `Bidi`: echoes each message as it arrives;
/// - `Fail`: a trailers-only answer with the status from the request header `x-fail-code`
///   (default 13) and the message `failed on purpose`;
/// - `Hang`: never answers (until the caller gives up).
///
/// The value of a request header `x-reply-set-cookie` comes back as `set-cookie`.
pub struct GrpcUpstream {
    /// The address.
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<GrpcSeen>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for GrpcUpstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl GrpcUpstream {
    /// Starts a service answering as `label`.
    pub async fn start(label: &str) -> GrpcUpstream {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        GrpcUpstream::serve(listener, label)
    }

    /// Serves on `listener` (a bench tool binds its own port).
    pub fn serve(listener: TcpListener, label: &str) -> GrpcUpstream {
        let addr = listener.local_addr().expect("local addr");
        let seen: Arc<Mutex<Vec<GrpcSeen>>> = Arc::default();
        let label: Arc<str> = label.into();
        let record = seen.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let _ = stream.set_nodelay(true);
                let label = label.clone();
                let record = record.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                        let label = label.clone();
                        let record = record.clone();
                        async move { Ok::<_, Infallible>(answer(req, &label, &record)) }
                    });
                    let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        GrpcUpstream { addr, seen, task }
    }

    /// Every call seen so far.
    pub fn seen(&self) -> Vec<GrpcSeen> {
        self.seen.lock().clone()
    }

    /// How many calls it saw.
    pub fn calls(&self) -> usize {
        self.seen.lock().len()
    }
}

fn answer(
    req: Request<Incoming>,
    label: &str,
    record: &Mutex<Vec<GrpcSeen>>,
) -> Response<FrameBody> {
    let (head, body) = req.into_parts();
    let method = head.uri.path().to_string();
    record.lock().push(GrpcSeen {
        method: method.clone(),
        headers: head.headers.clone(),
    });
    let (tx, out) = frame_body();
    let mut trailers = status_trailers(0, "");
    trailers.insert(
        "x-upstream-trailer",
        HeaderValue::from_str(label).unwrap_or(HeaderValue::from_static("?")),
    );
    let name = method.rsplit('/').next().unwrap_or("").to_string();
    let label = label.to_string();
    let label_header = label.clone();
    let fail_code = head
        .headers
        .get("x-fail-code")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u32>().ok())
        .unwrap_or(13);
    tokio::spawn(async move {
        let mut reader = MessageReader::new(body);
        match name.as_str() {
            "Unary" => {
                for m in reader.all().await {
                    let reply = format!("{label}:{}", String::from_utf8_lossy(&m));
                    let _ = tx.send(Frame::data(grpc_frame(reply.as_bytes())));
                }
            }
            "ClientStream" => {
                let all = reader.all().await;
                let joined: Vec<String> = all
                    .iter()
                    .map(|m| String::from_utf8_lossy(m).into_owned())
                    .collect();
                let reply = format!("{}:{}", all.len(), joined.join(","));
                let _ = tx.send(Frame::data(grpc_frame(reply.as_bytes())));
            }
            "ServerStream" => {
                let n: usize = match reader.next().await {
                    Some(m) => String::from_utf8_lossy(&m).parse().unwrap_or(0),
                    None => 0,
                };
                for i in 0..n {
                    let _ = tx.send(Frame::data(grpc_frame(i.to_string().as_bytes())));
                }
            }
            "Bidi" => {
                while let Some(m) = reader.next().await {
                    if tx.send(Frame::data(grpc_frame(&m))).is_err() {
                        return;
                    }
                }
            }
            "Fail" => {
                // Trailers-only: the status went out with the headers.
                return;
            }
            "Hang" => {
                tx.closed().await;
                return;
            }
            _ => {
                reader.all().await;
                trailers = status_trailers(12, "unknown method");
            }
        }
        let _ = tx.send(Frame::trailers(trailers));
    });
    let mut resp = Response::new(out);
    resp.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/grpc"));
    if method.ends_with("/Fail") {
        resp.headers_mut()
            .extend(status_trailers(fail_code, "failed on purpose"));
    }
    if let Ok(v) = HeaderValue::from_str(&label_header) {
        resp.headers_mut().insert("x-upstream", v);
    }
    if let Some(v) = head.headers.get("x-reply-set-cookie") {
        resp.headers_mut().insert("set-cookie", v.clone());
    }
    resp
}

/// The outcome of a call.
#[derive(Debug)]
pub struct GrpcReply {
    /// The HTTP status.
    pub http_status: u16,
    /// The response headers.
    pub headers: HeaderMap,
    /// The messages.
    pub messages: Vec<Bytes>,
    /// The trailers (empty for a trailers-only answer, whose status is in `headers`).
    pub trailers: HeaderMap,
}

impl GrpcReply {
    /// `grpc-status`, from the trailers or (trailers-only) the headers; `None` if absent.
    pub fn status(&self) -> Option<u32> {
        self.field("grpc-status").and_then(|s| s.parse().ok())
    }

    /// `grpc-message`, from the trailers or the headers ("" if absent).
    pub fn message(&self) -> String {
        self.field("grpc-message").unwrap_or_default()
    }

    /// The messages as text.
    pub fn texts(&self) -> Vec<String> {
        self.messages
            .iter()
            .map(|m| String::from_utf8_lossy(m).into_owned())
            .collect()
    }

    fn field(&self, name: &str) -> Option<String> {
        self.trailers
            .get(name)
            .or_else(|| self.headers.get(name))
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }
}

/// An h2c client for gRPC calls over one connection.
#[derive(Clone)]
pub struct GrpcClient {
    sender: hyper::client::conn::http2::SendRequest<FrameBody>,
    authority: String,
}

/// A call in progress: send messages, read messages as they come.
pub struct GrpcCall {
    tx: Option<mpsc::UnboundedSender<Frame<Bytes>>>,
    /// The HTTP status of the answer.
    pub http_status: u16,
    /// The response headers.
    pub headers: HeaderMap,
    reader: MessageReader,
}

impl GrpcCall {
    /// Sends one message.
    pub fn send(&self, message: &[u8]) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(Frame::data(grpc_frame(message)));
        }
    }

    /// Ends the request stream.
    pub fn close_send(&mut self) {
        self.tx = None;
    }

    /// The next message of the answer.
    pub async fn next(&mut self) -> Option<Bytes> {
        self.reader.next().await
    }

    /// Reads the rest of the answer.
    pub async fn finish(mut self) -> GrpcReply {
        self.tx = None;
        let messages = self.reader.all().await;
        GrpcReply {
            http_status: self.http_status,
            headers: self.headers,
            messages,
            trailers: self.reader.trailers().cloned().unwrap_or_default(),
        }
    }
}

impl GrpcClient {
    /// Connects to `addr` with HTTP/2 prior knowledge; calls carry `:authority` `addr`.
    pub async fn connect(addr: SocketAddr) -> GrpcClient {
        GrpcClient::connect_as(addr, &addr.to_string()).await
    }

    /// Connects to `addr`; calls carry `:authority` `authority` (for host routing).
    pub async fn connect_as(addr: SocketAddr, authority: &str) -> GrpcClient {
        let stream = TcpStream::connect(addr).await.expect("connect");
        let _ = stream.set_nodelay(true);
        let (sender, conn) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
            .handshake(TokioIo::new(stream))
            .await
            .expect("HTTP/2 handshake");
        tokio::spawn(conn);
        GrpcClient {
            sender,
            authority: authority.to_string(),
        }
    }

    /// Whether the server closed the connection (after GOAWAY, say).
    pub fn is_closed(&self) -> bool {
        self.sender.is_closed()
    }

    /// Starts a call to `method` (`/package.Service/Method`) with extra `headers`; it
    /// returns once the response headers arrived.
    pub async fn open(&self, method: &str, headers: &[(&str, &str)]) -> GrpcCall {
        let (tx, body) = frame_body();
        let mut req = Request::post(format!("http://{}{method}", self.authority))
            .header("content-type", "application/grpc")
            .header("te", "trailers");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req.body(body).expect("request");
        let mut sender = self.sender.clone();
        sender.ready().await.expect("connection ready");
        let resp = sender.send_request(req).await.expect("response");
        let (head, body) = resp.into_parts();
        GrpcCall {
            tx: Some(tx),
            http_status: head.status.as_u16(),
            headers: head.headers,
            reader: MessageReader::new(body),
        }
    }

    /// A call sending `messages` and then ending its stream; the whole answer.
    pub async fn call(
        &self,
        method: &str,
        headers: &[(&str, &str)],
        messages: &[&str],
    ) -> GrpcReply {
        let (tx, body) = frame_body();
        for m in messages {
            let _ = tx.send(Frame::data(grpc_frame(m.as_bytes())));
        }
        drop(tx);
        let mut req = Request::post(format!("http://{}{method}", self.authority))
            .header("content-type", "application/grpc")
            .header("te", "trailers");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req.body(body).expect("request");
        let mut sender = self.sender.clone();
        sender.ready().await.expect("connection ready");
        let resp = sender.send_request(req).await.expect("response");
        let (head, body) = resp.into_parts();
        let mut reader = MessageReader::new(body);
        let messages = reader.all().await;
        GrpcReply {
            http_status: head.status.as_u16(),
            headers: head.headers,
            messages,
            trailers: reader.trailers().cloned().unwrap_or_default(),
        }
    }

    /// A unary call: one message in, the answer.
    pub async fn unary(&self, method: &str, headers: &[(&str, &str)], message: &str) -> GrpcReply {
        self.call(method, headers, &[message]).await
    }
}
