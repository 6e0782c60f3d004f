//! The headers of the upstream handshake request, as Easegress sends them: the client's
//! headers without the handshake and hop-by-hop ones, plus `X-Forwarded-*`.

use std::net::IpAddr;

use eg_upstream::connections::{
    SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_EXTENSIONS, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_VERSION,
};
use http::header::{
    HeaderMap, HeaderName, HeaderValue, CONNECTION, CONTENT_LENGTH, HOST, TE, TRAILER,
    TRANSFER_ENCODING, UPGRADE,
};

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const KEEP_ALIVE: HeaderName = HeaderName::from_static("keep-alive");
const PROXY_CONNECTION: HeaderName = HeaderName::from_static("proxy-connection");

/// The upstream handshake request headers: the client's headers without the handshake ones
/// and without hop-by-hop ones, `Host` as Easegress chooses it (`host`), and
/// `X-Forwarded-For` (appended), `X-Forwarded-Host` (unless present) and
/// `X-Forwarded-Proto`. `Sec-WebSocket-Protocol` is kept, so the upstream chooses the
/// subprotocol.
pub fn upstream_headers(
    client: &HeaderMap,
    host: &str,
    client_host: &str,
    client_ip: IpAddr,
    client_tls: bool,
) -> HeaderMap {
    let mut out = HeaderMap::with_capacity(client.len() + 8);
    let listed_in_connection: Vec<HeaderName> = client
        .get_all(CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|t| HeaderName::from_bytes(t.trim().as_bytes()).ok())
        .collect();
    for (name, value) in client {
        let skip = [
            &HOST,
            &CONNECTION,
            &UPGRADE,
            &SEC_WEBSOCKET_KEY,
            &SEC_WEBSOCKET_VERSION,
            &SEC_WEBSOCKET_ACCEPT,
            &SEC_WEBSOCKET_EXTENSIONS,
            &KEEP_ALIVE,
            &PROXY_CONNECTION,
            &TE,
            &TRAILER,
            &TRANSFER_ENCODING,
            &CONTENT_LENGTH,
        ]
        .contains(&name)
            || name.as_str() == "sec-websocket-origin"
            || listed_in_connection.contains(name);
        if !skip {
            out.append(name.clone(), value.clone());
        }
    }
    let ip = client_ip.to_string();
    let xff = match client.get(X_FORWARDED_FOR).and_then(|v| v.to_str().ok()) {
        Some(prev) if !prev.is_empty() => format!("{prev}, {ip}"),
        _ => ip,
    };
    if let Ok(v) = HeaderValue::from_str(&xff) {
        out.insert(X_FORWARDED_FOR, v);
    }
    if !client.contains_key(X_FORWARDED_HOST) && !client_host.is_empty() {
        if let Ok(v) = HeaderValue::from_str(client_host) {
            out.insert(X_FORWARDED_HOST, v);
        }
    }
    out.insert(
        X_FORWARDED_PROTO,
        HeaderValue::from_static(if client_tls { "https" } else { "http" }),
    );
    if let Ok(v) = HeaderValue::from_str(host) {
        out.insert(HOST, v);
    }
    out
}
