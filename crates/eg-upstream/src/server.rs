//! One upstream server: its URL (`http(s)://host[:port][/prefix]`, or `ws(s)://...` where
//! a proxy allows it) checked and taken apart once, so that the request path only copies
//! ready-made parts.

use std::net::IpAddr;
use std::sync::Arc;

use bytes::Bytes;
use eg_spec::SpecError;
use http::header::HeaderValue;
use http::uri::{Authority, PathAndQuery, Scheme};

use crate::connections::HostPool;
use crate::log_limiter::LogLimiter;

/// The schemes of HTTP servers (`Proxy`).
pub const HTTP_SCHEMES: &[&str] = &["http", "https"];
/// The schemes of WebSocket servers.
pub const WS_SCHEMES: &[&str] = &["ws", "wss"];

/// One upstream server, with everything the request path needs precomputed.
#[derive(Debug)]
pub struct Server {
    /// The URL as written.
    pub url: String,
    /// The scheme, lowercase.
    pub scheme: Scheme,
    /// `host[:port]`.
    pub authority: Authority,
    /// The URL's own path, prepended to the request path (`""` when none).
    pub prefix: Bytes,
    /// `Host` value naming this server.
    pub host: HeaderValue,
    /// False for IP-literal servers (they get the client's `Host`).
    pub addr_is_hostname: bool,
    /// Send the client's `Host` to this server (`keepHost`).
    pub keep_host: bool,
    /// The keep-alive connections of a plain-HTTP server (`None`: the generic client).
    pub fast: Option<Arc<HostPool>>,
    /// Paces the warnings about a certificate that fails verification.
    pub tls_warnings: LogLimiter,
}

impl Server {
    /// Checks and takes apart `url`, whose scheme must be one of `schemes` (e.g.
    /// [`HTTP_SCHEMES`]); errors name `path` (the `url` field).
    pub fn parse(
        url: &str,
        keep_host: bool,
        path: &str,
        schemes: &[&str],
    ) -> Result<Server, SpecError> {
        let bad = |m: &str| SpecError::new(path, format!("invalid server URL {url:?}: {m}"));
        let (scheme_text, rest) = url.split_once("://").ok_or_else(|| {
            let forms: Vec<String> = schemes
                .iter()
                .enumerate()
                .map(|(i, s)| match i {
                    0 => format!("{s}://host[:port][/path]"),
                    _ => format!("{s}://..."),
                })
                .collect();
            bad(&format!("must be {}", forms.join(" or ")))
        })?;
        let Some(&name) = schemes.iter().find(|s| s.eq_ignore_ascii_case(scheme_text)) else {
            return Err(bad(&format!("scheme must be {}", schemes.join(" or "))));
        };
        let scheme = match name {
            "http" => Scheme::HTTP,
            "https" => Scheme::HTTPS,
            other => Scheme::try_from(other).map_err(|_| bad("bad scheme"))?,
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
        let s = Server::parse("http://127.0.0.1:8080", false, "u", HTTP_SCHEMES).unwrap();
        assert!(!s.addr_is_hostname);
        assert_eq!(s.host, "127.0.0.1:8080");
        let s = Server::parse("https://example.com/base", false, "u", HTTP_SCHEMES).unwrap();
        assert!(s.addr_is_hostname);
        assert_eq!(&s.prefix[..], b"/base");
        let s = Server::parse("http://[::1]:80", false, "u", HTTP_SCHEMES).unwrap();
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
            let e = Server::parse(bad, false, "p.url", HTTP_SCHEMES).unwrap_err();
            assert_eq!(e.path, "p.url", "{bad}");
        }
    }

    #[test]
    fn the_accepted_schemes_are_a_parameter() {
        let s = Server::parse("WSS://example.com/chat", false, "u", WS_SCHEMES).unwrap();
        assert_eq!(s.scheme.as_str(), "wss");
        let e = Server::parse("http://example.com", false, "u", WS_SCHEMES).unwrap_err();
        assert!(e.message.contains("ws or wss"), "{}", e.message);
        let e = Server::parse("ftp://a", false, "u", HTTP_SCHEMES).unwrap_err();
        assert!(e.message.contains("http or https"), "{}", e.message);
    }
}
