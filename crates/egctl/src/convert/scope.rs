//! Settings that nginx inherits from `http` to `server` to `location`: a level that sets
//! one of them replaces what it inherited (all `proxy_set_header`s at once, as nginx does).

use super::parse::Directive;

/// The inheritable directives in effect at one level.
#[derive(Debug, Clone, Default)]
pub struct Scope<'a> {
    /// `proxy_set_header`s.
    pub set_headers: Vec<&'a Directive>,
    /// `gzip`.
    pub gzip: Option<&'a Directive>,
    /// `gzip_min_length`.
    pub gzip_min_length: Option<&'a Directive>,
    /// `ssl_certificate`s.
    pub certificates: Vec<&'a Directive>,
    /// `ssl_certificate_key`s.
    pub certificate_keys: Vec<&'a Directive>,
    /// `ssl_client_certificate`.
    pub client_certificate: Option<&'a Directive>,
}

/// Directives a [`Scope`] takes at every level.
pub const PROXY_SCOPE: &[&str] = &["proxy_set_header", "gzip", "gzip_min_length"];

/// Directives a [`Scope`] takes at the `http` and `server` levels.
pub const TLS_SCOPE: &[&str] = &[
    "ssl_certificate",
    "ssl_certificate_key",
    "ssl_client_certificate",
];

impl<'a> Scope<'a> {
    /// The scope inside a block holding `list`.
    pub fn enter(&self, list: &'a [Directive]) -> Scope<'a> {
        let mut next = self.clone();
        let named = |n: &'static str| list.iter().filter(move |d| d.name == n);
        let replace = |old: &mut Vec<&'a Directive>, n: &'static str| {
            let here: Vec<&'a Directive> = named(n).collect();
            if !here.is_empty() {
                *old = here;
            }
        };
        replace(&mut next.set_headers, "proxy_set_header");
        replace(&mut next.certificates, "ssl_certificate");
        replace(&mut next.certificate_keys, "ssl_certificate_key");
        if let Some(d) = named("gzip").next_back() {
            next.gzip = Some(d);
        }
        if let Some(d) = named("gzip_min_length").next_back() {
            next.gzip_min_length = Some(d);
        }
        if let Some(d) = named("ssl_client_certificate").next_back() {
            next.client_certificate = Some(d);
        }
        next
    }
}
