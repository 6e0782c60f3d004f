//! HTTP request and response values as filters see them.

use http::header::{HeaderMap, HeaderValue};
use http::{request, Method, StatusCode, Uri, Version};

use crate::body::Body;
use crate::host::strip_port;

/// The standard methods Easegress accepts in specs (Go's `net/http` method constants).
pub const STANDARD_METHODS: [Method; 9] = [
    Method::GET,
    Method::HEAD,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
    Method::CONNECT,
    Method::OPTIONS,
    Method::TRACE,
];

/// The standard method spelled exactly `name` (upper case), if there is one.
pub fn standard_method(name: &str) -> Option<Method> {
    STANDARD_METHODS
        .iter()
        .find(|m| m.as_str() == name)
        .cloned()
}

/// A marker in a request's extensions: the client connection is TLS (for
/// `X-Forwarded-Proto`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientTls;

/// In a request's extensions when the client presented certificates on its TLS connection
/// (mutual TLS): the chain as the client sent it, leaf first, each certificate in DER.
/// Absent for plain HTTP and for TLS clients without a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerCertificates(pub std::sync::Arc<[bytes::Bytes]>);

/// Marks the extensions of a request read over TLS: [`ClientTls`], and the client's
/// certificates when it presented some. Every path that reads requests off a TLS connection
/// marks them with this, so that filters see the same thing whichever served the request.
pub fn mark_tls(extensions: &mut http::Extensions, certs: Option<&PeerCertificates>) {
    extensions.insert(ClientTls);
    if let Some(c) = certs {
        extensions.insert(c.clone());
    }
}

/// A request: hyper's head (method, URI, version, headers) plus a [`Body`].
#[derive(Debug)]
pub struct HttpRequest {
    /// Method, URI, version, headers.
    pub head: request::Parts,
    /// The body, streamed or buffered.
    pub body: Body,
}

impl HttpRequest {
    /// A request from its parts.
    pub fn new(head: request::Parts, body: Body) -> Self {
        HttpRequest { head, body }
    }

    /// A bodiless request, mostly for tests and builders.
    pub fn simple(method: Method, uri: &str) -> Result<Self, http::Error> {
        let (head, ()) = http::Request::builder()
            .method(method)
            .uri(uri)
            .body(())?
            .into_parts();
        Ok(HttpRequest {
            head,
            body: Body::Empty,
        })
    }

    /// The method.
    pub fn method(&self) -> &Method {
        &self.head.method
    }

    /// The request target.
    pub fn uri(&self) -> &Uri {
        &self.head.uri
    }

    /// The path, still escaped as received.
    pub fn path(&self) -> &str {
        self.head.uri.path()
    }

    /// The raw query string (without `?`), empty when there is none.
    pub fn query(&self) -> &str {
        self.head.uri.query().unwrap_or("")
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.head.headers
    }

    /// The headers, for changing.
    pub fn headers_mut(&mut self) -> &mut HeaderMap {
        &mut self.head.headers
    }

    /// The first value of header `name` as text (`None` if absent or not visible ASCII).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Whether the client connection is TLS (see [`ClientTls`]).
    pub fn over_tls(&self) -> bool {
        self.head.extensions.get::<ClientTls>().is_some()
    }

    /// The certificates the client presented on its TLS connection (see
    /// [`PeerCertificates`]); empty when there are none.
    pub fn peer_certificates(&self) -> &[bytes::Bytes] {
        self.head
            .extensions
            .get::<PeerCertificates>()
            .map_or(&[], |c| &c.0)
    }

    /// The HTTP version.
    pub fn version(&self) -> Version {
        self.head.version
    }

    /// The host the client asked for (`Host` header, or the URI authority for HTTP/2),
    /// with any port.
    pub fn host_with_port(&self) -> &str {
        if let Some(h) = self
            .head
            .headers
            .get(http::header::HOST)
            .and_then(|v| v.to_str().ok())
        {
            return h;
        }
        self.head.uri.authority().map(|a| a.as_str()).unwrap_or("")
    }

    /// The host without its port (`[::1]:80` → `[::1]`, `a.com:8080` → `a.com`).
    pub fn host(&self) -> &str {
        strip_port(self.host_with_port())
    }

    /// Replaces the path and query, keeping the rest of the URI.
    pub fn set_path_and_query(&mut self, path_and_query: &str) -> Result<(), http::Error> {
        let mut parts = std::mem::take(&mut self.head.uri).into_parts();
        parts.path_and_query = Some(path_and_query.parse()?);
        self.head.uri = Uri::from_parts(parts)?;
        Ok(())
    }
}

/// A response: status, headers and a [`Body`].
#[derive(Debug)]
pub struct HttpResponse {
    /// Status code.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// The body, streamed or buffered.
    pub body: Body,
}

impl HttpResponse {
    /// An empty response with `status`.
    pub fn new(status: StatusCode) -> Self {
        HttpResponse {
            status,
            headers: HeaderMap::new(),
            body: Body::Empty,
        }
    }

    /// A response with a buffered body.
    pub fn with_body(status: StatusCode, body: impl Into<bytes::Bytes>) -> Self {
        HttpResponse {
            status,
            headers: HeaderMap::new(),
            body: Body::full(body),
        }
    }

    /// Sets header `name` to `value` (ignored when `value` is not a valid header value).
    pub fn set_header(&mut self, name: http::header::HeaderName, value: &str) {
        if let Ok(v) = HeaderValue::from_str(value) {
            self.headers.insert(name, v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_without_port() {
        let mut r = HttpRequest::simple(Method::GET, "/").unwrap();
        r.headers_mut()
            .insert(http::header::HOST, HeaderValue::from_static("[::1]:80"));
        assert_eq!((r.host_with_port(), r.host()), ("[::1]:80", "[::1]"));
    }

    #[test]
    fn path_and_query_replacement_keeps_the_rest() {
        let mut r = HttpRequest::simple(Method::GET, "/a/b?x=1").unwrap();
        assert_eq!((r.path(), r.query()), ("/a/b", "x=1"));
        r.set_path_and_query("/c?y=2").unwrap();
        assert_eq!(r.uri().to_string(), "/c?y=2");
    }
}
