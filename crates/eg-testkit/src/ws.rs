//! A WebSocket echo server for the WebSocket tests: it echoes text and binary messages,
//! answers `/health` with 200, can refuse upgrades (503) on demand, greets new sessions,
//! picks the first offered subprotocol, and obeys a few text commands:
//!
//! - `send-ping`: sends a ping with payload `srv`;
//! - `close-<code>`: closes with `<code>` and reason `bye`.
//!
//! It records the handshake headers it saw and the close codes clients sent.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use parking_lot::Mutex;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::tls::SelfSigned;

/// What the echo server saw and how it behaves; shared with the test.
#[derive(Default)]
pub struct WsState {
    /// Answer upgrades with 503 instead of 101.
    pub refuse: AtomicBool,
    /// Sessions accepted.
    pub sessions: AtomicUsize,
    /// Headers of the last handshake request.
    pub last_headers: Mutex<Option<HeaderMap>>,
    /// The request path of each session accepted.
    pub paths: Mutex<Vec<String>>,
    /// Close codes clients sent.
    pub close_codes: Mutex<Vec<u16>>,
    /// Text sent to each new session first, if any.
    pub greeting: Mutex<Option<String>>,
    /// A header added to every `101`.
    pub answer_header: Mutex<Option<(String, String)>>,
}

/// A running WebSocket echo server.
pub struct WsEcho {
    /// Its address.
    pub addr: SocketAddr,
    /// Shared state.
    pub state: Arc<WsState>,
    tls: bool,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for WsEcho {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl WsEcho {
    /// Starts a plain (`ws://`) echo server on an ephemeral loopback port.
    pub async fn start() -> WsEcho {
        Self::start_on(None).await
    }

    /// Starts a `wss://` echo server with `cert`.
    pub async fn start_tls(cert: &SelfSigned) -> WsEcho {
        let certs = vec![cert.cert_der.clone()];
        let key = <rustls_pki_types::PrivateKeyDer<'static> as rustls_pki_types::pem::PemObject>::from_pem_slice(
            cert.key_pem.as_bytes(),
        )
        .expect("a private key");
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("a server certificate");
        Self::start_on(Some(TlsAcceptor::from(Arc::new(config)))).await
    }

    /// Starts a plain echo server on 127.0.0.1:`port`.
    pub async fn start_at(port: u16) -> WsEcho {
        Self::listen(("127.0.0.1", port), None).await
    }

    async fn start_on(tls: Option<TlsAcceptor>) -> WsEcho {
        Self::listen(("127.0.0.1", 0), tls).await
    }

    async fn listen(at: (&str, u16), tls: Option<TlsAcceptor>) -> WsEcho {
        let listener = TcpListener::bind(at).await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let state = Arc::new(WsState::default());
        let st = state.clone();
        let is_tls = tls.is_some();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let st = st.clone();
                let tls = tls.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let st = st.clone();
                        async move { Ok::<_, Infallible>(answer(req, st)) }
                    });
                    let _ = stream.set_nodelay(true);
                    let builder = hyper::server::conn::http1::Builder::new();
                    match tls {
                        None => {
                            let _ = builder
                                .serve_connection(TokioIo::new(stream), service)
                                .with_upgrades()
                                .await;
                        }
                        Some(acceptor) => {
                            if let Ok(s) = acceptor.accept(stream).await {
                                let _ = builder
                                    .serve_connection(TokioIo::new(s), service)
                                    .with_upgrades()
                                    .await;
                            }
                        }
                    }
                });
            }
        });
        WsEcho {
            addr,
            state,
            tls: is_tls,
            task,
        }
    }

    /// `ws://127.0.0.1:<port>` (or `wss://localhost:<port>`).
    pub fn url(&self) -> String {
        if self.tls {
            format!("wss://localhost:{}", self.addr.port())
        } else {
            format!("ws://{}", self.addr)
        }
    }
}

fn answer(mut req: Request<Incoming>, st: Arc<WsState>) -> Response<Full<Bytes>> {
    let reply = |status: StatusCode| {
        let mut r = Response::new(Full::new(Bytes::new()));
        *r.status_mut() = status;
        r
    };
    let key = req.headers().get("sec-websocket-key").cloned();
    let Some(key) = key else {
        return if req.uri().path() == "/health" {
            reply(StatusCode::OK)
        } else {
            reply(StatusCode::NOT_FOUND)
        };
    };
    if st.refuse.load(Ordering::SeqCst) {
        return reply(StatusCode::SERVICE_UNAVAILABLE);
    }
    *st.last_headers.lock() = Some(req.headers().clone());
    st.paths.lock().push(req.uri().path().to_string());
    let protocol = req
        .headers()
        .get("sec-websocket-protocol")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(|p| p.trim().to_string());
    let on_upgrade = hyper::upgrade::on(&mut req);
    let mut resp = reply(StatusCode::SWITCHING_PROTOCOLS);
    let h = resp.headers_mut();
    h.insert("upgrade", "websocket".parse().expect("value"));
    h.insert("connection", "Upgrade".parse().expect("value"));
    h.insert(
        "sec-websocket-accept",
        derive_accept_key(key.as_bytes()).parse().expect("value"),
    );
    if let Some(p) = protocol {
        h.insert("sec-websocket-protocol", p.parse().expect("value"));
    }
    if let Some((n, v)) = st.answer_header.lock().clone() {
        h.insert(
            http::HeaderName::from_bytes(n.as_bytes()).expect("name"),
            v.parse().expect("value"),
        );
    }
    tokio::spawn(async move {
        let Ok(upgraded) = on_upgrade.await else {
            return;
        };
        let mut config = WebSocketConfig::default();
        config.max_message_size = None;
        config.max_frame_size = None;
        let mut ws =
            WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, Some(config))
                .await;
        st.sessions.fetch_add(1, Ordering::SeqCst);
        let greeting = st.greeting.lock().clone();
        if let Some(g) = greeting {
            let _ = ws.send(Message::text(g)).await;
        }
        echo(ws, &st).await;
    });
    resp
}

async fn echo<S>(mut ws: WebSocketStream<S>, st: &WsState)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    while let Some(Ok(msg)) = ws.next().await {
        let sent = match msg {
            Message::Text(t) if t.as_str() == "send-ping" => {
                ws.send(Message::Ping(Bytes::from_static(b"srv"))).await
            }
            Message::Text(t) if t.as_str().starts_with("close-") => {
                let code: u16 = t.as_str()[6..].parse().unwrap_or(1000);
                ws.send(Message::Close(Some(CloseFrame {
                    code: CloseCode::from(code),
                    reason: "bye".into(),
                })))
                .await
            }
            m @ (Message::Text(_) | Message::Binary(_)) => ws.send(m).await,
            Message::Close(f) => {
                if let Some(f) = f {
                    st.close_codes.lock().push(u16::from(f.code));
                }
                continue;
            }
            _ => Ok(()),
        };
        if sent.is_err() {
            return;
        }
    }
}
