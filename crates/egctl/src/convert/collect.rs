//! Walks the directive tree: `http` → `server` → `location`, with what each level inherits,
//! into [`Server`]s. Every directive that is not converted is warned about.

use std::collections::HashMap;
use std::path::Path;

use base64::Engine;

use super::load::resolve;
use super::model::{Backend, CertPair, HeaderChange, Location, Match, Server};
use super::parse::Directive;
use super::scope::{Scope, PROXY_SCOPE, TLS_SCOPE};
use super::upstream::{self, proxy_target, Upstream};
use super::{listen, vars, Warnings};

/// `gzip_min_length` when only `gzip on` is set (nginx's default).
pub const DEFAULT_GZIP_MIN_LENGTH: u32 = 20;

/// Converted without a trace: the websocket or plain proxy chooses the HTTP version.
const SILENTLY_CONVERTED: &[&str] = &["proxy_http_version"];

/// The state of one walk.
struct Walker<'w> {
    base_dir: &'w Path,
    warnings: &'w mut Warnings,
    upstreams: HashMap<String, Upstream>,
}

/// The servers of every `http` block of `config`. Files named by `ssl_*` directives are
/// read from `base_dir` when relative; a missing one is an error.
pub fn collect(
    config: &[Directive],
    base_dir: &Path,
    warnings: &mut Warnings,
) -> Result<Vec<Server>, String> {
    let mut servers = Vec::new();
    for d in config {
        if d.name != "http" {
            warnings.not_converted(d);
            continue;
        }
        let http = d.children();
        let upstreams = upstream::collect(http, warnings);
        let mut w = Walker {
            base_dir,
            warnings,
            upstreams,
        };
        let scope = Scope::default().enter(http);
        for d in http {
            match d.name.as_str() {
                "server" => servers.extend(w.server(d, &scope)?),
                "upstream" => {}
                n if PROXY_SCOPE.contains(&n) || TLS_SCOPE.contains(&n) => {}
                n if SILENTLY_CONVERTED.contains(&n) => {}
                _ => w.warnings.not_converted(d),
            }
        }
    }
    Ok(servers)
}

impl<'w> Walker<'w> {
    fn server(&mut self, d: &Directive, parent: &Scope<'_>) -> Result<Option<Server>, String> {
        let list = d.children();
        let scope = parent.enter(list);
        let mut server = Server {
            listens: Vec::new(),
            hosts: Vec::new(),
            certs: Vec::new(),
            ca_cert: None,
            locations: Vec::new(),
            pos: d.pos.clone(),
        };
        let mut listens_written = 0;
        for c in list {
            match c.name.as_str() {
                "listen" => {
                    listens_written += 1;
                    match listen::parse_listen(c) {
                        Ok((l, ignored)) => {
                            for p in ignored {
                                let msg = format!("listen parameter \"{p}\" is not converted");
                                self.warnings.at(&c.pos, msg);
                            }
                            server.listens.push(l);
                        }
                        Err(e) => self.warnings.at(&c.pos, format!("{e}; listen ignored")),
                    }
                }
                "server_name" => match listen::parse_server_name(c) {
                    Ok(hosts) => server.hosts.extend(hosts),
                    Err(e) => return Err(format!("{}: {e}", c.pos)),
                },
                "location" => self.location(c, &scope, &mut server.locations),
                n if PROXY_SCOPE.contains(&n) || TLS_SCOPE.contains(&n) => {}
                n if SILENTLY_CONVERTED.contains(&n) => {}
                _ => self.warnings.not_converted(c),
            }
        }
        if listens_written == 0 {
            server.listens.push(listen::default_listen());
        } else if server.listens.is_empty() {
            self.warnings.at(
                &d.pos,
                "server has no listen that can be converted; left out",
            );
            return Ok(None);
        }
        server.certs = self.certificates(&scope)?;
        if let Some(ca) = scope.client_certificate {
            server.ca_cert = Some(self.read_base64(ca)?);
        }
        Ok(Some(server))
    }

    /// The `ssl_certificate`/`ssl_certificate_key` pairs in effect, read.
    fn certificates(&self, scope: &Scope<'_>) -> Result<Vec<CertPair>, String> {
        let (certs, keys) = (&scope.certificates, &scope.certificate_keys);
        if certs.len() != keys.len() {
            let odd = if certs.len() > keys.len() {
                certs[keys.len()]
            } else {
                keys[certs.len()]
            };
            return Err(format!(
                "{}: \"{}\" has no matching ssl_certificate/ssl_certificate_key",
                odd.pos,
                odd.text()
            ));
        }
        let mut pairs = Vec::new();
        for (c, k) in certs.iter().zip(keys.iter()) {
            let Some(name) = c.args.first() else {
                return Err(format!("{}: \"ssl_certificate\" needs a file", c.pos));
            };
            pairs.push(CertPair {
                name: name.clone(),
                cert: self.read_base64(c)?,
                key: self.read_base64(k)?,
            });
        }
        Ok(pairs)
    }

    /// Base64 of the file named by `d`'s argument.
    fn read_base64(&self, d: &Directive) -> Result<String, String> {
        let Some(name) = d.args.first() else {
            return Err(format!("{}: \"{}\" needs a file", d.pos, d.name));
        };
        if name.contains('$') || name.starts_with("data:") || name.starts_with("engine:") {
            return Err(format!("{}: {} {name} cannot be converted", d.pos, d.name));
        }
        let path = resolve(self.base_dir, name);
        let data = std::fs::read(&path)
            .map_err(|e| format!("{}: read {} failed: {e}", d.pos, path.display()))?;
        Ok(base64::engine::general_purpose::STANDARD.encode(data))
    }

    /// Converts `location` block `d` and its nested locations into `out`.
    fn location(&mut self, d: &Directive, parent: &Scope<'_>, out: &mut Vec<Location>) {
        let (kind, path) = match location_args(d) {
            Ok(v) => v,
            Err(e) => {
                self.warnings
                    .at(&d.pos, format!("{e}; location not converted"));
                return;
            }
        };
        let list = d.children();
        let scope = parent.enter(list);
        let mut pass = None;
        let mut nested = Vec::new();
        for c in list {
            match c.name.as_str() {
                "proxy_pass" => pass = Some(c),
                "location" => nested.push(c),
                n if PROXY_SCOPE.contains(&n) => {}
                n if SILENTLY_CONVERTED.contains(&n) => {}
                _ => self.warnings.not_converted(c),
            }
        }
        match pass {
            None => {
                let msg = format!(
                    "location {} has no proxy_pass; not converted",
                    d.args.join(" ")
                );
                self.warnings.at(&d.pos, msg);
            }
            Some(p) => match proxy_target(p, &self.upstreams) {
                Err(e) => self
                    .warnings
                    .at(&p.pos, format!("{e}; location not converted")),
                Ok(target) => {
                    let mut uri = target.uri;
                    if uri.is_some() && matches!(kind, Match::Regexp | Match::RegexpNoCase) {
                        let msg =
                            "a URI in proxy_pass of a regular expression location is not converted";
                        self.warnings.at(&p.pos, msg);
                        uri = None;
                    }
                    let mut backend = Backend {
                        endpoints: target.endpoints,
                        ip_hash: target.ip_hash,
                        uri,
                        ..Backend::default()
                    };
                    self.headers(&scope, &mut backend);
                    backend.gzip_min_length = self.gzip(&scope);
                    out.push(Location {
                        path: path.clone(),
                        kind,
                        backend,
                        pos: d.pos.clone(),
                    });
                }
            },
        }
        for n in nested {
            self.location(n, &scope, out);
        }
    }

    /// `proxy_set_header`s in effect: websocket detection and header changes.
    fn headers(&mut self, scope: &Scope<'_>, backend: &mut Backend) {
        let mut upgrade = false;
        let mut connection = false;
        for d in &scope.set_headers {
            let [name, value] = d.args.as_slice() else {
                self.warnings.at(
                    &d.pos,
                    "\"proxy_set_header\" needs a name and a value; ignored",
                );
                continue;
            };
            if name.eq_ignore_ascii_case("upgrade") {
                upgrade = !value.is_empty();
                continue;
            }
            if name.eq_ignore_ascii_case("connection") {
                connection = !value.is_empty();
                continue;
            }
            if value.is_empty() {
                backend.headers.push(HeaderChange::Delete(name.clone()));
                continue;
            }
            match vars::translate(value) {
                Ok((value, template)) => backend.headers.push(HeaderChange::Set {
                    name: name.clone(),
                    value,
                    template,
                }),
                Err(var) => self.warnings.at(
                    &d.pos,
                    format!("nginx variable {var} has no Easegress equivalent; header {name} not converted"),
                ),
            }
        }
        backend.websocket = upgrade && connection;
    }

    /// `gzip_min_length` when `gzip on` is in effect.
    fn gzip(&mut self, scope: &Scope<'_>) -> Option<u32> {
        let on = scope.gzip?;
        if on.args.first().map(String::as_str) != Some("on") {
            return None;
        }
        let Some(len) = scope.gzip_min_length else {
            return Some(DEFAULT_GZIP_MIN_LENGTH);
        };
        match len.args.first().map(|a| a.parse::<u32>()) {
            Some(Ok(n)) => Some(n),
            _ => {
                let msg =
                    format!("invalid gzip_min_length, {DEFAULT_GZIP_MIN_LENGTH} is used instead");
                self.warnings.at(&len.pos, msg);
                Some(DEFAULT_GZIP_MIN_LENGTH)
            }
        }
    }
}

/// The match kind and path of `location [=|^~|~|~*] path` (also `=/path` and `~re`).
pub fn location_args(d: &Directive) -> Result<(Match, String), String> {
    let (modifier, path) = match d.args.as_slice() {
        [m, p] => (m.as_str(), p.clone()),
        [one] => {
            if let Some(p) = one.strip_prefix('=') {
                ("=", p.to_string())
            } else if let Some(p) = one.strip_prefix("~*") {
                ("~*", p.to_string())
            } else if let Some(p) = one.strip_prefix('~') {
                ("~", p.to_string())
            } else {
                ("", one.clone())
            }
        }
        _ => return Err(format!("invalid location \"{}\"", d.args.join(" "))),
    };
    if path.starts_with('@') {
        return Err(format!("named location {path} cannot be matched by path"));
    }
    if path.is_empty() {
        return Err("location without a path".into());
    }
    let kind = match modifier {
        "=" => Match::Exact,
        "^~" => Match::PriorityPrefix,
        "~" => Match::Regexp,
        "~*" => Match::RegexpNoCase,
        "" => Match::Prefix,
        other => return Err(format!("unknown location modifier \"{other}\"")),
    };
    Ok((kind, path))
}
