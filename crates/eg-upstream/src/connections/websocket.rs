//! Opening a WebSocket to an upstream server, for the WebSocket proxy and the `ws` health
//! probe: TCP (or TLS) and the client side of the opening handshake (RFC 6455 §4.1).
//!
//! The handshake is written here rather than by tungstenite's client, so that the request
//! carries exactly the headers the proxy chose (`Host` included) and an upstream that picks
//! no subprotocol is accepted, as the RFC allows.

use std::sync::Arc;
use std::time::Duration;

use http::header::{HeaderMap, HeaderName, HeaderValue, CONNECTION, HOST, UPGRADE};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_tungstenite::tungstenite::handshake::client::generate_key;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

use super::client::ClientSettings;
use super::ws_io::UpstreamIo;

/// `Sec-WebSocket-Key`.
pub const SEC_WEBSOCKET_KEY: HeaderName = HeaderName::from_static("sec-websocket-key");
/// `Sec-WebSocket-Version`.
pub const SEC_WEBSOCKET_VERSION: HeaderName = HeaderName::from_static("sec-websocket-version");
/// `Sec-WebSocket-Accept`.
pub const SEC_WEBSOCKET_ACCEPT: HeaderName = HeaderName::from_static("sec-websocket-accept");
/// `Sec-WebSocket-Protocol`.
pub const SEC_WEBSOCKET_PROTOCOL: HeaderName = HeaderName::from_static("sec-websocket-protocol");
/// `Sec-WebSocket-Extensions`.
pub const SEC_WEBSOCKET_EXTENSIONS: HeaderName =
    HeaderName::from_static("sec-websocket-extensions");
/// The only protocol version there is.
pub const WEBSOCKET_VERSION: &str = "13";

/// Whether header `name` holds `token` in its comma-separated lists (case-insensitive).
///
/// Asked of every proxied request, most of which have no such header: plain loops, as a
/// flattening iterator's state (about 200 bytes) would be set up and copied first.
pub fn has_token(headers: &HeaderMap, name: &HeaderName, token: &str) -> bool {
    for value in eg_protocols::lookup::all(headers, name) {
        let Ok(list) = value.to_str() else { continue };
        if list
            .split(',')
            .any(|t| t.trim().eq_ignore_ascii_case(token))
        {
            return true;
        }
    }
    false
}

/// The subprotocols a client offers (`Sec-WebSocket-Protocol`, comma-separated, in order).
pub fn offered_protocols(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    headers
        .get_all(SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// The TLS client configuration for `wss` servers: certificates verified against the
/// web PKI roots, or not verified at all when `insecure`.
pub fn websocket_tls_config(insecure: bool) -> Result<Arc<rustls::ClientConfig>, String> {
    let settings = ClientSettings {
        insecure,
        mtls: None,
        max_idle_per_host: 0,
        max_idle: 0,
    };
    super::tls::tls_config(&settings).map(Arc::new)
}

/// How long connecting and the upstream handshake may take together (the proxy's; a
/// health probe has its own `timeout`).
pub const DIAL_TIMEOUT: Duration = Duration::from_secs(30);

/// Where one upstream WebSocket server is.
#[derive(Debug, Clone)]
pub struct Target {
    /// `wss` (or `https`): TLS.
    pub tls: bool,
    /// `host:port` to connect to.
    pub authority: String,
    /// The host name for TLS (SNI and verification).
    pub host: String,
}

/// Why the upstream WebSocket could not be opened.
#[derive(Debug)]
pub enum DialError {
    /// Connecting, TLS or the handshake took longer than [`DIAL_TIMEOUT`].
    Timeout,
    /// TCP or TLS failed.
    Connect(std::io::Error),
    /// The upstream answered the handshake without switching (its status).
    Refused(http::StatusCode),
    /// The handshake failed otherwise.
    Handshake(String),
    /// The request could not be built.
    Request(String),
}

impl std::fmt::Display for DialError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DialError::Timeout => write!(f, "timed out"),
            DialError::Connect(e) => write!(f, "connect: {e}"),
            DialError::Refused(s) => write!(f, "upstream answered {s} instead of 101"),
            DialError::Handshake(e) => write!(f, "handshake: {e}"),
            DialError::Request(e) => write!(f, "request: {e}"),
        }
    }
}

/// An open upstream WebSocket connection, its handshake done.
#[derive(Debug)]
pub struct Opened {
    /// The connection.
    pub io: UpstreamIo,
    /// The `101` answer.
    pub switched: Switched,
    /// Bytes the upstream sent right after its answer (the first frames), to be read before
    /// the connection.
    pub rest: Vec<u8>,
}

/// Opens a WebSocket at `target` for `path_and_query` with `headers` (`Host` included;
/// [`upstream_headers`] builds the proxy's), within `deadline`; `tls` is the client
/// configuration for `wss`.
pub async fn open_websocket(
    target: &Target,
    path_and_query: &str,
    headers: HeaderMap,
    tls: &Arc<rustls::ClientConfig>,
    deadline: Duration,
) -> Result<Opened, DialError> {
    match tokio::time::timeout(deadline, dial_now(target, path_and_query, headers, tls)).await {
        Ok(r) => r,
        Err(_) => Err(DialError::Timeout),
    }
}

async fn dial_now(
    target: &Target,
    path_and_query: &str,
    headers: HeaderMap,
    tls: &Arc<rustls::ClientConfig>,
) -> Result<Opened, DialError> {
    let tcp = TcpStream::connect(&target.authority)
        .await
        .map_err(DialError::Connect)?;
    let _ = tcp.set_nodelay(true);
    let io = if target.tls {
        let name = ServerName::try_from(target.host.clone())
            .map_err(|e| DialError::Request(format!("server name {:?}: {e}", target.host)))?;
        let stream = TlsConnector::from(tls.clone())
            .connect(name, tcp)
            .await
            .map_err(DialError::Connect)?;
        UpstreamIo::Tls(Box::new(stream))
    } else {
        UpstreamIo::Plain(tcp)
    };
    let mut io = io;
    let (switched, rest) = client_handshake(&mut io, path_and_query, headers).await?;
    Ok(Opened { io, switched, rest })
}

/// The largest upstream handshake answer read.
pub const MAX_RESPONSE_HEAD: usize = 16 * 1024;
/// The most headers an upstream handshake answer may have.
const MAX_RESPONSE_HEADERS: usize = 64;

/// The upstream's handshake answer: its headers (status 101).
#[derive(Debug)]
pub struct Switched {
    /// The answer's headers.
    pub headers: HeaderMap,
}

/// Sends the handshake request and reads the answer; returns the answer and the bytes read
/// past it (the first frames, if the upstream was quick).
async fn client_handshake<S>(
    io: &mut S,
    path_and_query: &str,
    mut headers: HeaderMap,
) -> Result<(Switched, Vec<u8>), DialError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let key = generate_key();
    let offered: Vec<String> = offered_protocols(&headers).map(str::to_string).collect();
    let mut req = Vec::with_capacity(512);
    req.extend_from_slice(b"GET ");
    req.extend_from_slice(path_and_query.as_bytes());
    req.extend_from_slice(b" HTTP/1.1\r\n");
    if let Some(host) = headers.remove(HOST) {
        push_header(&mut req, "Host", host.as_bytes());
    }
    push_header(&mut req, "Connection", b"Upgrade");
    push_header(&mut req, "Upgrade", b"websocket");
    push_header(
        &mut req,
        "Sec-WebSocket-Version",
        WEBSOCKET_VERSION.as_bytes(),
    );
    push_header(&mut req, "Sec-WebSocket-Key", key.as_bytes());
    for (name, value) in &headers {
        push_header(&mut req, name.as_str(), value.as_bytes());
    }
    req.extend_from_slice(b"\r\n");
    io.write_all(&req).await.map_err(DialError::Connect)?;
    io.flush().await.map_err(DialError::Connect)?;

    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 2048];
    loop {
        let n = io.read(&mut chunk).await.map_err(DialError::Connect)?;
        if n == 0 {
            return Err(DialError::Handshake(
                "the upstream closed the connection during the handshake".into(),
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
        let mut slots = [httparse::EMPTY_HEADER; MAX_RESPONSE_HEADERS];
        let mut resp = httparse::Response::new(&mut slots);
        match resp.parse(&buf) {
            Ok(httparse::Status::Complete(len)) => {
                let code = resp.code.unwrap_or(0);
                let status = http::StatusCode::from_u16(code)
                    .map_err(|_| DialError::Handshake(format!("bad status {code}")))?;
                if status != http::StatusCode::SWITCHING_PROTOCOLS {
                    return Err(DialError::Refused(status));
                }
                let mut out = HeaderMap::with_capacity(resp.headers.len());
                for h in resp.headers.iter() {
                    if let (Ok(n), Ok(v)) = (
                        HeaderName::from_bytes(h.name.as_bytes()),
                        HeaderValue::from_bytes(h.value),
                    ) {
                        out.append(n, v);
                    }
                }
                verify_switch(&out, &key, &offered)?;
                let rest = buf.split_off(len);
                return Ok((Switched { headers: out }, rest));
            }
            Ok(httparse::Status::Partial) if buf.len() < MAX_RESPONSE_HEAD => {}
            Ok(httparse::Status::Partial) => {
                return Err(DialError::Handshake("handshake answer too large".into()))
            }
            Err(e) => return Err(DialError::Handshake(format!("bad answer: {e}"))),
        }
    }
}

fn push_header(req: &mut Vec<u8>, name: &str, value: &[u8]) {
    req.extend_from_slice(name.as_bytes());
    req.extend_from_slice(b": ");
    req.extend_from_slice(value);
    req.extend_from_slice(b"\r\n");
}

/// Checks a `101` answer (RFC 6455 §4.1): `Upgrade: websocket`, `Connection: upgrade`, the
/// accept key of `key`, and a subprotocol only from those `offered`.
fn verify_switch(headers: &HeaderMap, key: &str, offered: &[String]) -> Result<(), DialError> {
    if !has_token(headers, &UPGRADE, "websocket") || !has_token(headers, &CONNECTION, "upgrade") {
        return Err(DialError::Handshake(
            "101 answer without Upgrade: websocket and Connection: upgrade".into(),
        ));
    }
    let accept = headers.get(SEC_WEBSOCKET_ACCEPT).map(HeaderValue::as_bytes);
    if accept != Some(derive_accept_key(key.as_bytes()).as_bytes()) {
        return Err(DialError::Handshake("wrong Sec-WebSocket-Accept".into()));
    }
    if let Some(p) = headers.get(SEC_WEBSOCKET_PROTOCOL) {
        let chosen = p.to_str().unwrap_or("");
        if !offered.iter().any(|o| o == chosen) {
            return Err(DialError::Handshake(format!(
                "the upstream chose subprotocol {chosen:?}, which the client did not offer"
            )));
        }
    }
    if headers.contains_key(SEC_WEBSOCKET_EXTENSIONS) {
        return Err(DialError::Handshake(
            "the upstream chose an extension, none was offered".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::{CONNECTION, UPGRADE};
    use http::HeaderValue;

    #[test]
    fn a_token_is_found_in_any_value_of_its_lists() {
        let mut h = HeaderMap::new();
        assert!(!has_token(&h, &CONNECTION, "upgrade"));
        h.append(CONNECTION, HeaderValue::from_static("keep-alive"));
        assert!(!has_token(&h, &CONNECTION, "upgrade"));
        h.append(CONNECTION, HeaderValue::from_static("x-a ,  Upgrade , x-b"));
        assert!(has_token(&h, &CONNECTION, "upgrade"));
        assert!(has_token(&h, &CONNECTION, "KEEP-ALIVE"));
        assert!(!has_token(&h, &CONNECTION, "upgrad"));
        assert!(!has_token(&h, &UPGRADE, "upgrade"), "another header's list");
    }

    #[test]
    fn a_value_that_is_not_text_is_skipped() {
        let mut h = HeaderMap::new();
        h.append(
            UPGRADE,
            HeaderValue::from_bytes(b"websocket\xff").expect("obs-text"),
        );
        assert!(!has_token(&h, &UPGRADE, "websocket"));
        h.append(UPGRADE, HeaderValue::from_static("websocket"));
        assert!(has_token(&h, &UPGRADE, "websocket"));
    }
}
