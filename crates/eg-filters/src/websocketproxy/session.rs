//! One WebSocket session: checking the client's handshake, opening the upstream, answering
//! `101` and relaying once hyper hands the connection over.

use std::sync::Arc;

use eg_protocols::{Context, HttpResponse, DEFAULT_NAMESPACE};
use http::header::{
    HeaderMap, HeaderValue, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, HOST, TRANSFER_ENCODING,
    UPGRADE,
};
use http::StatusCode;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;

use eg_upstream::connections::{
    open_websocket, DialError, Target, DIAL_TIMEOUT, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_EXTENSIONS,
};

use super::forward_headers::upstream_headers;
use super::handshake;
use super::origin::OriginPolicy;
use super::relay::{self, Limits, Traffic};
use super::stats::PoolStats;

/// Result: the handshake could not be served (no healthy server, no connection to hand
/// over), status 503 or 501.
pub const RESULT_INTERNAL_ERROR: &str = "internalError";
/// Result: the client's handshake was refused (bad handshake, forbidden `Origin`).
pub const RESULT_CLIENT_ERROR: &str = "clientError";
/// Result: the upstream could not be opened (status 503). Like Easegress, this result is
/// not registered, so it ends the flow whatever `jumpIf` says.
pub const RESULT_SERVER_ERROR: &str = "serverError";

/// What a pool's sessions share: limits, the origin rule, TLS.
#[derive(Debug)]
pub struct SessionSettings {
    /// Largest message read from the client; `None`: no limit.
    pub client_max_msg: Option<usize>,
    /// Largest message read from the upstream; `None`: no limit.
    pub server_max_msg: Option<usize>,
    /// Skip the `Origin` check (Easegress's meaning) and upstream certificate checks.
    pub insecure_skip_verify: bool,
    /// `originPatterns`.
    pub origins: OriginPolicy,
    /// The TLS client configuration for `wss` servers.
    pub tls: Arc<rustls::ClientConfig>,
}

/// The server a session goes to.
#[derive(Debug, Clone)]
pub struct Upstream {
    /// Where to connect.
    pub target: Target,
    /// The `Host` sent: the server's, or the client's when the server URL is an IP address
    /// or `keepHost` is set.
    pub use_client_host: bool,
    /// The server's `host[:port]` for `Host` when the client's is not used.
    pub host_header: String,
    /// The server URL, for logs.
    pub url: Arc<str>,
}

/// Serves the handshake of the active namespace's request with `upstream`; on success
/// leaves a `101` response and a task that relays once the connection is handed over.
pub async fn serve(
    ctx: &mut Context,
    upstream: &Upstream,
    settings: &Arc<SessionSettings>,
    stats: &Arc<PoolStats>,
) -> &'static str {
    let Some(req) = ctx.request() else {
        return fail(
            ctx,
            stats,
            StatusCode::INTERNAL_SERVER_ERROR,
            RESULT_INTERNAL_ERROR,
        );
    };
    let checked = handshake::check_request(req.method(), req.version(), req.headers());
    let accept = match checked {
        Ok(h) => h.accept,
        Err(refusal) => {
            tracing::debug!(reason = %refusal.reason, "WebSocket handshake refused");
            let mut resp = HttpResponse::with_body(refusal.status, format!("{}\n", refusal.reason));
            resp.set_header(CONTENT_TYPE, "text/plain; charset=utf-8");
            if let Some((name, value)) = refusal.hint {
                resp.headers.insert(name, HeaderValue::from_static(value));
                if resp.headers.contains_key(UPGRADE) {
                    resp.headers
                        .insert(CONNECTION, HeaderValue::from_static("Upgrade"));
                }
            }
            stats.record_refused(refusal.status);
            ctx.set_response(resp);
            return RESULT_CLIENT_ERROR;
        }
    };
    if !settings.insecure_skip_verify {
        let origin = req.header("origin");
        if let Err(why) = settings.origins.authorize(origin, req.host_with_port()) {
            tracing::debug!(%why, "WebSocket Origin refused");
            let mut resp = HttpResponse::with_body(StatusCode::FORBIDDEN, format!("{why}\n"));
            resp.set_header(CONTENT_TYPE, "text/plain; charset=utf-8");
            stats.record_refused(StatusCode::FORBIDDEN);
            ctx.set_response(resp);
            return RESULT_CLIENT_ERROR;
        }
    }
    let host = if upstream.use_client_host {
        req.host_with_port().to_string()
    } else {
        upstream.host_header.clone()
    };
    let headers = upstream_headers(
        req.headers(),
        &host,
        req.host_with_port(),
        ctx.real_ip,
        req.over_tls(),
    );
    let path_and_query = req
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_string();

    // The connection to hand over is the client's, in the DEFAULT request.
    let on_upgrade = ctx
        .get_namespace_mut(DEFAULT_NAMESPACE)
        .and_then(|ns| ns.request.as_mut())
        .and_then(|r| r.head.extensions.remove::<OnUpgrade>());
    let Some(on_upgrade) = on_upgrade else {
        tracing::debug!("no connection to hand over (HTTP/2 or not served by an HTTPServer)");
        return fail(
            ctx,
            stats,
            StatusCode::NOT_IMPLEMENTED,
            RESULT_INTERNAL_ERROR,
        );
    };

    let dialed = open_websocket(
        &upstream.target,
        &path_and_query,
        headers,
        &settings.tls,
        DIAL_TIMEOUT,
    )
    .await;
    let opened = match dialed {
        Ok(d) => d,
        Err(e) => {
            log_dial_error(&upstream.url, &e);
            return fail(
                ctx,
                stats,
                StatusCode::SERVICE_UNAVAILABLE,
                RESULT_SERVER_ERROR,
            );
        }
    };

    let mut resp = HttpResponse::new(StatusCode::SWITCHING_PROTOCOLS);
    copy_answer_headers(&opened.switched.headers, &mut resp.headers);
    resp.headers
        .insert(UPGRADE, HeaderValue::from_static("websocket"));
    resp.headers
        .insert(CONNECTION, HeaderValue::from_static("Upgrade"));
    if let Ok(v) = HeaderValue::from_str(&accept) {
        resp.headers.insert(SEC_WEBSOCKET_ACCEPT, v);
    }
    ctx.set_response(resp);
    stats.session_opened();

    let limits = Limits {
        client: settings.client_max_msg,
        server: settings.server_max_msg,
    };
    let stats = stats.clone();
    tokio::spawn(async move {
        let upgraded = match on_upgrade.await {
            Ok(u) => u,
            Err(e) => {
                tracing::debug!(error = %e, "the client connection was not handed over");
                stats.session_closed(&Traffic::default());
                return;
            }
        };
        let traffic = Traffic::default();
        let client = TokioIo::new(upgraded);
        relay::relay(client, opened.io, opened.rest, limits, &traffic).await;
        stats.session_closed(&traffic);
    });
    crate::RESULT_OK
}

/// Copies the upstream's `101` headers the client may see: all but the handshake and
/// framing ones (the proxy answers those itself).
fn copy_answer_headers(from: &HeaderMap, to: &mut HeaderMap) {
    for (name, value) in from {
        let skip = [
            &CONNECTION,
            &UPGRADE,
            &SEC_WEBSOCKET_ACCEPT,
            &SEC_WEBSOCKET_EXTENSIONS,
            &CONTENT_LENGTH,
            &TRANSFER_ENCODING,
            &HOST,
        ]
        .contains(&name)
            || name.as_str() == "keep-alive";
        if !skip {
            to.append(name.clone(), value.clone());
        }
    }
}

fn fail(
    ctx: &mut Context,
    stats: &PoolStats,
    status: StatusCode,
    result: &'static str,
) -> &'static str {
    stats.record_refused(status);
    ctx.set_response(HttpResponse::new(status));
    result
}

fn log_dial_error(url: &str, e: &DialError) {
    match e {
        DialError::Refused(status) => {
            tracing::warn!(server = url, %status, "the upstream refused the WebSocket upgrade")
        }
        e => tracing::warn!(server = url, error = %e, "dialing the WebSocket upstream failed"),
    }
}
