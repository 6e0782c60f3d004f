//! Header work on the way up and down: hop-by-hop headers removed, the upstream request
//! built for a server (path prefix, `Host`, framing), and the upstream answer merged into
//! the response of the active namespace.

use bytes::BytesMut;
use eg_protocols::{
    connection_tokens, fix_framing, Body, Context, HttpRequest, HttpResponse, MessageKind,
};
use http::header::{HeaderName, HeaderValue, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, HOST};
use http::uri::{self, PathAndQuery};
use http::{HeaderMap, Request, StatusCode, Uri, Version};

use eg_upstream::server::Server;

/// Headers that belong to one connection and are never forwarded.
static HOP_BY_HOP: [HeaderName; 9] = [
    CONNECTION,
    HeaderName::from_static("proxy-connection"),
    HeaderName::from_static("keep-alive"),
    http::header::PROXY_AUTHENTICATE,
    http::header::PROXY_AUTHORIZATION,
    http::header::TE,
    http::header::TRAILER,
    http::header::TRANSFER_ENCODING,
    http::header::UPGRADE,
];

/// The index of `name` in [`HOP_BY_HOP`], by its (lower-case) text.
fn hop_by_hop_index(name: &HeaderName) -> Option<usize> {
    Some(match name.as_str() {
        "connection" => 0,
        "proxy-connection" => 1,
        "keep-alive" => 2,
        "proxy-authenticate" => 3,
        "proxy-authorization" => 4,
        "te" => 5,
        "trailer" => 6,
        "transfer-encoding" => 7,
        "upgrade" => 8,
        _ => return None,
    })
}

/// Removes hop-by-hop headers, including those named by `Connection`.
///
/// Most messages carry none or only `Connection`: one pass over the names finds out, so
/// the map is only searched for the names that are there.
pub fn remove_hop_by_hop(h: &mut HeaderMap) {
    // Bit i set: HOP_BY_HOP[i] is present.
    let mut present = 0u16;
    for k in h.keys() {
        if let Some(i) = hop_by_hop_index(k) {
            present |= 1 << i;
        }
    }
    if present == 0 {
        return;
    }
    if present & 1 != 0 {
        // The names `Connection` lists, found before any removal (removing `Connection`
        // drops its values). A plain loop: this runs for nearly every upstream answer,
        // whose `Connection: keep-alive` names nothing.
        let mut listed: Vec<HeaderName> = Vec::new();
        for v in h.get_all(CONNECTION) {
            for t in connection_tokens(v.as_bytes()) {
                // The usual tokens name no header (or one removed below anyway).
                if t.eq_ignore_ascii_case(b"keep-alive") || t.eq_ignore_ascii_case(b"close") {
                    continue;
                }
                if let Ok(n) = HeaderName::from_bytes(t) {
                    listed.push(n);
                }
            }
        }
        for n in listed {
            h.remove(n);
        }
    }
    for (i, n) in HOP_BY_HOP.iter().enumerate() {
        if present & (1 << i) != 0 {
            h.remove(n);
        }
    }
}

/// The request sent to `server` for `req` with `body`: the server's path prefix before the
/// request's path, framing for the body sent, no hop-by-hop headers, and the `Host` rule
/// (`keepHost` wins; then `setUpstreamHost`; IP-literal servers get the client's `Host`).
/// `origin_form` leaves scheme and authority out of the URI (what goes on the wire of a
/// [`HostPool`](eg_upstream::connections::HostPool) connection).
pub fn upstream_request(
    server: &Server,
    req: &HttpRequest,
    body: Body,
    origin_form: bool,
    set_upstream_host: bool,
) -> Result<Request<Body>, http::Error> {
    let pq = match req.uri().path_and_query() {
        Some(pq) if server.prefix.is_empty() => pq.clone(),
        Some(pq) => {
            let mut b = BytesMut::with_capacity(server.prefix.len() + pq.as_str().len());
            b.extend_from_slice(&server.prefix);
            b.extend_from_slice(pq.as_str().as_bytes());
            PathAndQuery::from_maybe_shared(b.freeze())?
        }
        None if server.prefix.is_empty() => PathAndQuery::from_static("/"),
        None => PathAndQuery::from_maybe_shared(server.prefix.clone())?,
    };
    let mut parts = uri::Parts::default();
    // Absolute for the generic client (its pool key); origin-form on a HostPool
    // connection, which is what goes on the wire.
    if !origin_form {
        parts.scheme = Some(server.scheme.clone());
        parts.authority = Some(server.authority.clone());
    }
    parts.path_and_query = Some(pq);
    let uri = Uri::from_parts(parts)?;

    let mut headers = req.headers().clone();
    // The length of the body sent, never one a filter left behind or one that came
    // with Transfer-Encoding.
    fix_framing(&mut headers, MessageKind::Request, body.known_len());
    remove_hop_by_hop(&mut headers);
    // keepHost wins; then setUpstreamHost; IP-literal servers get the client's Host.
    let use_client_host = server.keep_host || (!server.addr_is_hostname && !set_upstream_host);
    if use_client_host {
        if !eg_protocols::lookup::contains(&headers, &HOST) {
            let h = match req.uri().authority() {
                Some(a) => {
                    HeaderValue::from_str(a.as_str()).unwrap_or_else(|_| server.host.clone())
                }
                None => server.host.clone(),
            };
            headers.insert(HOST, h);
        }
    } else {
        headers.insert(HOST, server.host.clone());
    }

    let mut out = Request::new(body);
    *out.method_mut() = req.method().clone();
    *out.uri_mut() = uri;
    *out.version_mut() = Version::HTTP_11;
    *out.headers_mut() = headers;
    Ok(out)
}

/// Server-sent events never end: they are streamed whatever `serverMaxBodySize` says.
pub fn is_event_stream(h: &HeaderMap) -> bool {
    h.get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"))
}

/// An upstream answer, already post-processed.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Body,
}

/// Stores the answer as the response of the active namespace, merging headers into an
/// existing response as Easegress does: `Access-Control-*` replaced, others appended.
pub fn set_response(ctx: &mut Context, a: Answer) {
    match ctx.response_mut() {
        None => ctx.set_response(HttpResponse {
            status: a.status,
            headers: a.headers,
            body: a.body,
        }),
        Some(existing) => {
            // The body is replaced: so is its framing.
            existing.headers.remove(CONTENT_LENGTH);
            existing.headers.remove(http::header::TRANSFER_ENCODING);
            let mut last: Option<HeaderName> = None;
            for (name, value) in a.headers {
                let (name, first) = match name {
                    Some(n) => (n, true),
                    None => match &last {
                        Some(n) => (n.clone(), false),
                        None => continue,
                    },
                };
                if first && name.as_str().starts_with("access-control-") {
                    existing.headers.insert(name.clone(), value);
                } else {
                    existing.headers.append(name.clone(), value);
                }
                last = Some(name);
            }
            existing.status = a.status;
            existing.body = a.body;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_indexes_match_the_table() {
        for (i, n) in HOP_BY_HOP.iter().enumerate() {
            assert_eq!(hop_by_hop_index(n), Some(i), "{n}");
        }
        assert_eq!(hop_by_hop_index(&HOST), None);
    }

    #[test]
    fn hop_by_hop_headers_go() {
        let mut h = HeaderMap::new();
        h.insert(CONNECTION, HeaderValue::from_static("close, X-Secret"));
        h.insert("x-secret", HeaderValue::from_static("1"));
        h.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        h.insert("upgrade", HeaderValue::from_static("websocket"));
        h.insert("x-kept", HeaderValue::from_static("1"));
        remove_hop_by_hop(&mut h);
        assert_eq!(h.len(), 1);
        assert!(h.contains_key("x-kept"));
    }
}
