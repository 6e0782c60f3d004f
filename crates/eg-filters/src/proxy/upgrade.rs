//! A WebSocket handshake reaching a `Proxy`.
//!
//! `Proxy` forwards HTTP exchanges over pooled connections and drops `Upgrade` as a
//! hop-by-hop header, so a WebSocket handshake would reach the upstream as a plain `GET`
//! and fail there in some upstream-specific way. Instead the Proxy answers at once with
//! `501 Not Implemented` and a body naming the filter that does relay WebSocket
//! (`WebSocketProxy`), with result `internalError`. Other upgrade tokens (e.g. `h2c`) may be
//! ignored by a server (RFC 9110 §7.8) and are proxied as plain requests, as before.

use eg_protocols::{Context, HttpResponse};
use http::header::CONTENT_TYPE;
use http::StatusCode;

use crate::websocketproxy::handshake::is_websocket_upgrade;

/// The status of a WebSocket handshake sent to a `Proxy`.
pub const WEBSOCKET_REFUSED_STATUS: StatusCode = StatusCode::NOT_IMPLEMENTED;

/// The body of that answer.
pub const WEBSOCKET_REFUSED_BODY: &str = "WebSocket is not relayed by the Proxy filter: \
route WebSocket handshakes (Upgrade: websocket) to a pipeline with a WebSocketProxy filter\n";

/// Whether the active request is a WebSocket handshake; if so, sets the `501` answer.
pub fn refuse_websocket(ctx: &mut Context) -> bool {
    if !ctx
        .request()
        .is_some_and(|r| is_websocket_upgrade(r.headers()))
    {
        return false;
    }
    tracing::debug!("WebSocket handshake sent to a Proxy; answered 501");
    let mut resp = HttpResponse::with_body(WEBSOCKET_REFUSED_STATUS, WEBSOCKET_REFUSED_BODY);
    resp.set_header(CONTENT_TYPE, "text/plain; charset=utf-8");
    ctx.set_response(resp);
    true
}
