//! Who may drive the admin API: basic-auth credentials (compared in constant time), the
//! `Host` allow-list that defeats DNS rebinding, and the origins a browser may call it from.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ring::digest::{digest, SHA256};

/// SHA-256 of `data`.
fn sha256(data: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest(&SHA256, data).as_ref());
    out
}

/// Compares two digests in time independent of where they differ.
fn same_digest(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// The basic-auth users, kept as digests of names and passwords.
///
/// A check hashes what the client sent and compares it with every user, always all of them
/// and always all 32 bytes, so that its time tells neither how much of a password was right
/// nor whether the user exists.
#[derive(Debug, Default)]
pub(crate) struct Credentials(Vec<([u8; 32], [u8; 32])>);

impl Credentials {
    /// The users of a `user → password` map.
    pub fn new(users: &BTreeMap<String, String>) -> Self {
        Credentials(
            users
                .iter()
                .map(|(u, p)| (sha256(u.as_bytes()), sha256(p.as_bytes())))
                .collect(),
        )
    }

    /// No user: the API is open.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `user` with `password` is one of the users.
    pub fn check(&self, user: &str, password: &str) -> bool {
        let (u, p) = (sha256(user.as_bytes()), sha256(password.as_bytes()));
        self.0.iter().fold(false, |found, (cu, cp)| {
            // `&` and `|`, not `&&` and `||`: no comparison is skipped.
            found | (same_digest(&u, cu) & same_digest(&p, cp))
        })
    }
}

/// Splits `host[:port]` (IPv6 in brackets) into a lower-case host and the port.
fn split_host_port(authority: &str) -> (String, Option<u16>) {
    let a = authority.trim();
    let (host, port) = if let Some(rest) = a.strip_prefix('[') {
        match rest.split_once(']') {
            Some((h, tail)) => (h, tail.strip_prefix(':')),
            None => (rest, None),
        }
    } else {
        match a.rsplit_once(':') {
            // More than one colon without brackets: a bare IPv6 address, no port.
            Some((h, _)) if h.contains(':') => (a, None),
            Some((h, p)) => (h, Some(p)),
            None => (a, None),
        }
    };
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    (host, port.and_then(|p| p.parse().ok()))
}

/// A web origin, `scheme://host[:port]`, with the scheme's default port filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Origin {
    scheme: String,
    host: String,
    port: u16,
}

impl Origin {
    /// Parses an `Origin` header value; `None` for `null` and anything that is not one.
    pub fn parse(text: &str) -> Option<Origin> {
        let (scheme, rest) = text.trim().split_once("://")?;
        let scheme = scheme.to_ascii_lowercase();
        let default = match scheme.as_str() {
            "http" => 80,
            "https" => 443,
            _ => return None,
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.is_empty() || rest.contains(['/', '?', '#', '@']) {
            return None;
        }
        let (host, port) = split_host_port(rest);
        if host.is_empty() {
            return None;
        }
        Some(Origin {
            scheme,
            host,
            port: port.unwrap_or(default),
        })
    }
}

/// The browser-facing rules of one API listener.
#[derive(Debug, Default)]
pub(crate) struct WebPolicy {
    any_host: bool,
    hosts: Vec<String>,
    any_origin: bool,
    origins: Vec<Origin>,
    tls: bool,
}

/// What `handle` must refuse, with the message to send.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The `Host` is a name the API does not answer to.
    Host(String),
    /// A state-changing request from a web page of another origin.
    CrossOrigin(String),
}

impl WebPolicy {
    /// The rules for a listener on `api_addr`, on a machine called `hostname`.
    pub fn new(
        api_addr: &str,
        hostname: Option<&str>,
        allowed_hosts: &[String],
        cors_allowed_origins: &[String],
        tls: bool,
    ) -> WebPolicy {
        let mut hosts = vec!["localhost".to_string()];
        let (addr_host, _) = split_host_port(api_addr);
        if !addr_host.is_empty() {
            hosts.push(addr_host);
        }
        if let Some(h) = hostname.map(str::trim).filter(|h| !h.is_empty()) {
            hosts.push(h.trim_end_matches('.').to_ascii_lowercase());
        }
        let mut any_host = false;
        for h in allowed_hosts
            .iter()
            .map(|h| h.trim())
            .filter(|h| !h.is_empty())
        {
            if h == "*" {
                any_host = true;
            } else {
                hosts.push(split_host_port(h).0);
            }
        }
        let any_origin = cors_allowed_origins.iter().any(|o| o.trim() == "*");
        // Entries that are not origins were refused by `check_origins` at start-up.
        let origins = cors_allowed_origins
            .iter()
            .filter_map(|o| Origin::parse(o))
            .collect();
        WebPolicy {
            any_host,
            hosts,
            any_origin,
            origins,
            tls,
        }
    }

    /// Whether a request naming `host` (its `Host` header or URI authority) may be served when
    /// no basic auth is configured. A page that rebinds its own DNS name to this machine sends
    /// that name; IP literals and `localhost` cannot be rebound.
    pub fn host_allowed(&self, host: Option<&str>) -> bool {
        let Some(host) = host else {
            return true;
        };
        if self.any_host {
            return true;
        }
        let (name, _) = split_host_port(host);
        name.parse::<IpAddr>().is_ok() || self.hosts.contains(&name)
    }

    /// Whether `origin` may call the API from a browser (the CORS flag).
    pub fn origin_allowed(&self, origin: &str) -> bool {
        self.any_origin || Origin::parse(origin).is_some_and(|o| self.origins.contains(&o))
    }

    /// Whether `origin` is another site than the API itself, reached as `host`.
    pub fn cross_origin(&self, origin: &str, host: Option<&str>) -> bool {
        let Some(o) = Origin::parse(origin) else {
            return true;
        };
        let Some(host) = host else {
            return true;
        };
        let (h, port) = split_host_port(host);
        let port = port.unwrap_or(if self.tls { 443 } else { 80 });
        let scheme = if self.tls { "https" } else { "http" };
        !(o.host == h && o.port == port && o.scheme == scheme)
    }

    /// The `Access-Control-Allow-Origin` value for a request from `origin`, if any.
    pub fn allow_origin_header(&self, origin: Option<&str>) -> Option<String> {
        if self.any_origin {
            return Some("*".to_string());
        }
        origin
            .filter(|o| self.origin_allowed(o))
            .map(|o| o.trim().to_string())
    }

    /// Checks a request before anything else looks at it.
    pub fn check(
        &self,
        method: &http::Method,
        host: Option<&str>,
        origin: Option<&str>,
        auth_configured: bool,
    ) -> Result<(), Refusal> {
        if !auth_configured && !self.host_allowed(host) {
            return Err(Refusal::Host(format!(
                "host {:?} is not allowed: without basic auth the admin API answers only to IP \
                 addresses, localhost, the host of --api-addr and this machine's name; add the \
                 name with --api-allowed-hosts",
                host.unwrap_or_default()
            )));
        }
        let state_changing = matches!(
            *method,
            http::Method::POST | http::Method::PUT | http::Method::DELETE | http::Method::PATCH
        );
        if let Some(origin) = origin {
            if state_changing && self.cross_origin(origin, host) && !self.origin_allowed(origin) {
                return Err(Refusal::CrossOrigin(format!(
                    "cross-origin {method} from {origin:?} refused: allow the origin with \
                     --api-cors-allowed-origins"
                )));
            }
        }
        Ok(())
    }
}

/// Checks the values of `--api-cors-allowed-origins`: `*` or `scheme://host[:port]`.
pub fn check_origins(origins: &[String]) -> Result<(), String> {
    for o in origins.iter().map(|o| o.trim()).filter(|o| !o.is_empty()) {
        if o != "*" && Origin::parse(o).is_none() {
            return Err(format!(
                "api-cors-allowed-origins: {o:?} is not an origin like https://ui.example.com:8443 or *"
            ));
        }
    }
    Ok(())
}

/// This machine's host name, when it can be read.
pub(crate) fn machine_hostname() -> Option<String> {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok().filter(|s| !s.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Method;

    fn users() -> Credentials {
        let mut m = BTreeMap::new();
        m.insert("admin".to_string(), "s3cret".to_string());
        m.insert("ops".to_string(), "p:w".to_string());
        Credentials::new(&m)
    }

    #[test]
    fn credentials_match_only_the_exact_user_and_password() {
        let c = users();
        assert!(c.check("admin", "s3cret"));
        assert!(c.check("ops", "p:w"));
        assert!(!c.check("admin", "p:w"), "another user's password");
        assert!(!c.check("admin", "s3cre"));
        assert!(!c.check("admin", "s3cret "));
        assert!(!c.check("nobody", "s3cret"));
        assert!(!c.check("", ""));
        assert!(Credentials::default().is_empty());
        assert!(!Credentials::default().check("admin", "s3cret"));
    }

    #[test]
    fn digest_comparison_looks_at_every_byte() {
        let a = sha256(b"x");
        let mut b = a;
        assert!(same_digest(&a, &b));
        b[31] ^= 1;
        assert!(!same_digest(&a, &b));
        b = a;
        b[0] ^= 0x80;
        assert!(!same_digest(&a, &b));
    }

    #[test]
    fn host_port_splitting() {
        assert_eq!(
            split_host_port("LocalHost:2381"),
            ("localhost".into(), Some(2381))
        );
        assert_eq!(split_host_port("[::1]:2381"), ("::1".into(), Some(2381)));
        assert_eq!(split_host_port("::1"), ("::1".into(), None));
        assert_eq!(
            split_host_port("example.com."),
            ("example.com".into(), None)
        );
        assert_eq!(split_host_port(":2381"), ("".into(), Some(2381)));
    }

    fn policy(hosts: &[&str], origins: &[&str]) -> WebPolicy {
        let v = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        WebPolicy::new("gw.lan:2381", Some("box1"), &v(hosts), &v(origins), false)
    }

    #[test]
    fn hosts_ips_localhost_addr_host_and_hostname_are_allowed() {
        let p = policy(&["admin.internal"], &[]);
        for ok in [
            "127.0.0.1:2381",
            "10.1.2.3",
            "[::1]:2381",
            "localhost",
            "LOCALHOST:1",
            "gw.lan:2381",
            "box1",
            "admin.internal:80",
        ] {
            assert!(p.host_allowed(Some(ok)), "{ok}");
        }
        assert!(p.host_allowed(None));
        for bad in [
            "evil.example",
            "evil.example:2381",
            "127.0.0.1.evil.example",
            "box",
        ] {
            assert!(!p.host_allowed(Some(bad)), "{bad}");
        }
        assert!(policy(&["*"], &[]).host_allowed(Some("evil.example")));
    }

    #[test]
    fn origins_are_compared_by_scheme_host_and_port() {
        let p = policy(&[], &[]);
        assert!(!p.cross_origin("http://127.0.0.1:2381", Some("127.0.0.1:2381")));
        assert!(!p.cross_origin("http://localhost", Some("localhost:80")));
        assert!(p.cross_origin("http://localhost:3000", Some("localhost:2381")));
        assert!(p.cross_origin("https://127.0.0.1:2381", Some("127.0.0.1:2381")));
        assert!(p.cross_origin("null", Some("127.0.0.1:2381")));
        assert!(p.cross_origin("http://127.0.0.1:2381", None));
    }

    #[test]
    fn cross_origin_writes_are_refused_unless_the_origin_is_listed() {
        let p = policy(&[], &["http://ui.example:8080"]);
        let h = Some("127.0.0.1:2381");
        let evil = Some("http://evil.example");
        assert!(matches!(
            p.check(&Method::POST, h, evil, false),
            Err(Refusal::CrossOrigin(m)) if m.contains("--api-cors-allowed-origins")
        ));
        for m in [Method::PUT, Method::DELETE, Method::PATCH] {
            assert!(p.check(&m, h, evil, false).is_err(), "{m}");
        }
        // Reads from other origins are not refused: without CORS headers a page cannot read
        // the answer anyway.
        assert!(p.check(&Method::GET, h, evil, false).is_ok());
        assert!(p.check(&Method::POST, h, None, false).is_ok());
        assert!(p
            .check(&Method::POST, h, Some("http://UI.example:8080"), false)
            .is_ok());
        assert!(
            p.check(&Method::POST, h, evil, true).is_err(),
            "auth does not lift it"
        );
        assert!(policy(&[], &["*"])
            .check(&Method::POST, h, evil, false)
            .is_ok());
    }

    #[test]
    fn a_foreign_host_is_refused_only_without_auth() {
        let p = policy(&[], &[]);
        let r = p.check(&Method::GET, Some("evil.example:2381"), None, false);
        assert!(matches!(r, Err(Refusal::Host(m)) if m.contains("--api-allowed-hosts")));
        assert!(p
            .check(&Method::GET, Some("evil.example:2381"), None, true)
            .is_ok());
    }

    #[test]
    fn allow_origin_header_is_sent_only_when_configured() {
        assert_eq!(
            policy(&[], &[]).allow_origin_header(Some("http://a.b")),
            None
        );
        assert_eq!(
            policy(&[], &["*"]).allow_origin_header(None).as_deref(),
            Some("*")
        );
        let p = policy(&[], &["https://a.b"]);
        assert_eq!(
            p.allow_origin_header(Some("https://a.b")).as_deref(),
            Some("https://a.b")
        );
        assert_eq!(p.allow_origin_header(Some("https://c.d")), None);
        assert!(check_origins(&["ftp://x".into()]).is_err());
        assert!(check_origins(&["null".into()]).is_err());
        assert!(check_origins(&["*".into(), "https://a.b:8443".into()]).is_ok());
    }
}
