//! Upstream servers: a server URL (`http(s)://host[:port][/prefix]`) checked and taken
//! apart once, so that the request path only copies ready-made parts.

use std::net::IpAddr;
use std::sync::Arc;

use bytes::Bytes;
use eg_spec::SpecError;
use http::header::HeaderValue;
use http::uri::{Authority, PathAndQuery, Scheme};

use super::client::LogLimiter;
use super::h1pool::HostPool;

/// One upstream server, with everything the request path needs precomputed.
#[derive(Debug)]
pub struct Server {
    /// The URL as written.
    pub url: String,
    pub(super) scheme: Scheme,
    pub(super) authority: Authority,
    /// The URL's own path, prepended to the request path (`""` when none).
    pub(super) prefix: Bytes,
    /// `Host` value naming this server.
    pub(super) host: HeaderValue,
    /// False for IP-literal servers (they get the client's `Host`).
    pub(super) addr_is_hostname: bool,
    pub(super) keep_host: bool,
    /// The keep-alive connections of a plain-HTTP server (`None`: the generic client).
    pub(super) fast: Option<Arc<HostPool>>,
    /// Paces the warnings about a certificate that fails verification.
    pub(super) tls_warnings: LogLimiter,
}

impl Server {
    /// Checks and takes apart `url`; errors name `path` (the `url` field).
    pub(super) fn parse(url: &str, keep_host: bool, path: &str) -> Result<Server, SpecError> {
        let bad = |m: &str| SpecError::new(path, format!("invalid server URL {url:?}: {m}"));
        let (scheme_text, rest) = url
            .split_once("://")
            .ok_or_else(|| bad("must be http://host[:port][/path] or https://..."))?;
        let scheme = if scheme_text.eq_ignore_ascii_case("http") {
            Scheme::HTTP
        } else if scheme_text.eq_ignore_ascii_case("https") {
            Scheme::HTTPS
        } else {
            return Err(bad("scheme must be http or https"));
        };
        if rest.contains(['?', '#']) {
            return Err(bad("must not have a query or fragment"));
        }
        let (auth_text, prefix) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        if auth_text.is_empty() || auth_text.contains('@') {
            return Err(bad("missing host"));
        }
        let authority: Authority = auth_text.parse().map_err(|_| bad("bad host or port"))?;
        if authority.host().is_empty() {
            return Err(bad("missing host"));
        }
        let after_host = &auth_text[authority.host().len()..];
        if !after_host.is_empty() && authority.port_u16().is_none() {
            return Err(bad("bad port"));
        }
        if !prefix.is_empty() {
            prefix
                .parse::<PathAndQuery>()
                .map_err(|_| bad("bad path"))?;
        }
        let bare = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        let addr_is_hostname = bare.parse::<IpAddr>().is_err();
        let host = HeaderValue::from_str(authority.as_str()).map_err(|_| bad("bad host"))?;
        Ok(Server {
            url: url.to_string(),
            scheme,
            authority,
            prefix: Bytes::copy_from_slice(prefix.as_bytes()),
            host,
            addr_is_hostname,
            keep_host,
            fast: None,
            tls_warnings: LogLimiter::default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_urls() {
        let s = Server::parse("http://127.0.0.1:8080", false, "u").unwrap();
        assert!(!s.addr_is_hostname);
        assert_eq!(s.host, "127.0.0.1:8080");
        let s = Server::parse("https://example.com/base", false, "u").unwrap();
        assert!(s.addr_is_hostname);
        assert_eq!(&s.prefix[..], b"/base");
        let s = Server::parse("http://[::1]:80", false, "u").unwrap();
        assert!(!s.addr_is_hostname);
        for bad in [
            "127.0.0.1:80",
            "ftp://a",
            "http://",
            "http:///x",
            "http://a?x=1",
            "http://u@a",
            "http://a:port",
        ] {
            let e = Server::parse(bad, false, "p.url").unwrap_err();
            assert_eq!(e.path, "p.url", "{bad}");
        }
    }
}
