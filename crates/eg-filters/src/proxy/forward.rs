//! Header work on the way up and down: hop-by-hop headers removed, the upstream request
//! built for a server (path prefix, `Host`, framing), and the upstream answer merged into
//! the response of the active namespace.

use bytes::BytesMut;
use eg_protocols::{
    already_framed, connection_tokens, fix_framing, Body, Context, HttpRequest, HttpResponse,
    MessageKind,
};
use http::header::{HeaderName, HeaderValue, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, HOST};
use http::uri::{self, PathAndQuery};
use http::{HeaderMap, Method, Request, StatusCode, Uri, Version};

use eg_upstream::connections::{encode_head, RequestHead};
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

/// The head of the request sent to `server` for `req`, written by a
/// [`HostPool`](eg_upstream::connections::HostPool) connection straight from the client's
/// request: what [`upstream_request`] builds for such a connection, without building it
/// first (and copying the client's headers into it).
pub struct ForwardHead<'a> {
    method: &'a Method,
    prefix: &'a [u8],
    path_and_query: &'a [u8],
    headers: &'a HeaderMap,
    /// `Some`: the value `Host` goes with, in the place of the client's.
    host: Option<&'a HeaderValue>,
}

impl<'a> ForwardHead<'a> {
    /// The head for `req` with a body of `body_len` bytes; `None` when the request needs
    /// more of [`upstream_request`]'s edits than a `Host` value: hop-by-hop headers to
    /// remove, framing to fix, or a `Host` to add or to make one of several.
    pub fn new(
        server: &'a Server,
        req: &'a HttpRequest,
        body_len: u64,
        set_upstream_host: bool,
    ) -> Option<Self> {
        let headers = req.headers();
        if !already_framed(headers, MessageKind::Request, Some(body_len)) {
            return None;
        }
        let mut hosts = 0usize;
        for (name, _) in headers {
            if hop_by_hop_index(name).is_some() {
                return None;
            }
            if name == HOST {
                hosts += 1;
            }
        }
        let host = match (uses_client_host(server, set_upstream_host), hosts) {
            (true, 1) => None,
            (false, 1) => Some(&server.host),
            _ => return None,
        };
        let (prefix, path_and_query): (&[u8], &[u8]) = match req.uri().path_and_query() {
            Some(pq) => (&server.prefix, pq.as_str().as_bytes()),
            None if server.prefix.is_empty() => (b"", b"/"),
            None => (&server.prefix, b""),
        };
        Some(ForwardHead {
            method: req.method(),
            prefix,
            path_and_query,
            headers,
            host,
        })
    }
}

impl RequestHead for ForwardHead<'_> {
    fn method(&self) -> &Method {
        self.method
    }

    fn encode(&self, body_len: usize, out: &mut Vec<u8>) {
        let host = self.host;
        let headers = self.headers.iter().map(|(name, value)| match host {
            Some(h) if name == HOST => (name, h),
            _ => (name, value),
        });
        encode_head(
            self.method,
            &[self.prefix, self.path_and_query],
            headers,
            body_len,
            out,
        );
    }
}

/// Whether the upstream request keeps the client's `Host`: `keepHost` wins; then
/// `setUpstreamHost`; IP-literal servers get the client's `Host`.
fn uses_client_host(server: &Server, set_upstream_host: bool) -> bool {
    server.keep_host || (!server.addr_is_hostname && !set_upstream_host)
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
    if uses_client_host(server, set_upstream_host) {
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

    fn request(
        method: &str,
        uri: &str,
        headers: &[(&str, &str)],
        body: &'static [u8],
    ) -> HttpRequest {
        let mut b = Request::builder().method(method).uri(uri);
        for (n, v) in headers {
            b = b.header(*n, *v);
        }
        let (head, ()) = b.body(()).expect("request").into_parts();
        let body = if body.is_empty() {
            Body::Empty
        } else {
            Body::full(bytes::Bytes::from_static(body))
        };
        HttpRequest::new(head, body)
    }

    fn server(url: &str, keep_host: bool) -> Server {
        Server::parse(url, keep_host, "url", eg_upstream::server::HTTP_SCHEMES).expect("server")
    }

    /// The head [`upstream_request`] builds, as a server's own connection writes it.
    fn built_head(server: &Server, req: &HttpRequest, set_upstream_host: bool) -> Vec<u8> {
        let body = match &req.body {
            Body::Full(b) => Body::Full(b.clone()),
            _ => Body::Empty,
        };
        let len = body.known_len().unwrap_or(0) as usize;
        let built = upstream_request(server, req, body, true, set_upstream_host).expect("built");
        let mut out = Vec::new();
        built.into_parts().0.encode(len, &mut out);
        out
    }

    #[test]
    fn a_forward_head_writes_what_the_built_request_would() {
        let servers = [
            server("http://10.0.0.1:8080", false),
            server("http://10.0.0.1:8080", true),
            server("http://backend.example:8080", false),
            server("http://backend.example:8080", true),
            server("http://backend.example/api/v1", false),
        ];
        let requests = [
            request("GET", "/", &[("host", "client.example")], b""),
            request(
                "GET",
                "/a/b?c=d&e",
                &[
                    ("user-agent", "t"),
                    ("host", "client.example:8443"),
                    ("x-many", "1"),
                    ("x-many", "2"),
                    ("accept", "*/*"),
                ],
                b"",
            ),
            request(
                "POST",
                "/submit",
                &[("host", "client.example"), ("content-length", "5")],
                b"hello",
            ),
            request("HEAD", "/h", &[("x-first", "1"), ("host", "c")], b""),
        ];
        for server in &servers {
            for set_upstream_host in [false, true] {
                for req in &requests {
                    let len = req.body.known_len().expect("known length");
                    let head = ForwardHead::new(server, req, len, set_upstream_host)
                        .unwrap_or_else(|| panic!("no forward head for {:?}", req.head));
                    let mut direct = Vec::new();
                    head.encode(len as usize, &mut direct);
                    assert_eq!(
                        String::from_utf8_lossy(&direct),
                        String::from_utf8_lossy(&built_head(server, req, set_upstream_host)),
                        "server {} set_upstream_host {set_upstream_host}",
                        server.url
                    );
                    assert_eq!(RequestHead::method(&head), req.method());
                }
            }
        }
    }

    #[test]
    fn a_request_needing_more_edits_gets_no_forward_head() {
        let hostname = server("http://backend.example:8080", false);
        let ip = server("http://10.0.0.1:8080", false);
        let cases: [(&Server, HttpRequest, &str); 6] = [
            (
                &hostname,
                request(
                    "GET",
                    "/",
                    &[("host", "c"), ("connection", "keep-alive")],
                    b"",
                ),
                "a hop-by-hop header",
            ),
            (
                &hostname,
                request("GET", "/", &[("host", "c"), ("te", "trailers")], b""),
                "TE",
            ),
            (
                &hostname,
                request(
                    "POST",
                    "/",
                    &[("host", "c"), ("transfer-encoding", "chunked")],
                    b"hello",
                ),
                "Transfer-Encoding",
            ),
            (
                &hostname,
                request(
                    "POST",
                    "/",
                    &[("host", "c"), ("content-length", "3")],
                    b"hello",
                ),
                "a Content-Length that is not the body's",
            ),
            (&ip, request("GET", "/", &[], b""), "no Host to keep"),
            (
                &hostname,
                request("GET", "/", &[("host", "a"), ("host", "b")], b""),
                "two Hosts",
            ),
        ];
        for (server, req, why) in &cases {
            let len = req.body.known_len().expect("known length");
            assert!(ForwardHead::new(server, req, len, false).is_none(), "{why}");
        }
    }
}
