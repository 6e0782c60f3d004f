//! A path's `setHeaders`: request headers set from NGINX-style templates when the path
//! routes a request.
//!
//! Each value is parsed once, when the spec is applied, into literal text and variables
//! (`$name`, `${name}`, `${name:default}`); a request only looks the variables up. An
//! empty value deletes the header. Every value is computed from the request as it arrived
//! (before `rewriteTarget` and `xForwardedFor`), then all headers are set, so the order of
//! the map does not matter.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::net::IpAddr;

use base64::Engine as _;
use eg_spec::SpecError;
use http::header::{HeaderName, HeaderValue, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, COOKIE};
use http::request::Parts;

use super::router::matchers::query_value;
use eg_protocols::host::strip_port;

/// A variable.
#[derive(Debug, Clone, PartialEq)]
enum Var {
    RequestMethod,
    RequestUri,
    Uri,
    Request,
    Scheme,
    QueryString,
    Host,
    HttpHost,
    RemoteAddr,
    RemoteUser,
    ProxyAddXForwardedFor,
    TimeIso8601,
    TimeLocal,
    Msec,
    ContentType,
    ContentLength,
    ServerProtocol,
    RequestTime,
    RequestLength,
    Header(HeaderName),
    Arg(String),
    Cookie(String),
    /// A RadixTree path parameter, by index.
    Param(usize),
    /// Anything else: always empty.
    Unknown,
}

/// A piece of a value.
#[derive(Debug, Clone, PartialEq)]
enum Part {
    Lit(String),
    Var(Var, Option<String>),
}

#[derive(Debug)]
enum Action {
    Delete,
    /// A value without variables, ready-made.
    Fixed(HeaderValue),
    Template(Box<[Part]>),
}

/// The compiled `setHeaders` of one path.
#[derive(Debug)]
pub(crate) struct SetHeaders {
    entries: Box<[(HeaderName, Action)]>,
}

/// What a request offers the variables besides its head.
pub(crate) struct Request<'a> {
    pub head: &'a Parts,
    pub real_ip: IpAddr,
    pub tls: bool,
    pub params: &'a [String],
}

fn var_of(name: &str, params: &[String]) -> Var {
    match name {
        "request_method" => Var::RequestMethod,
        "request_uri" => Var::RequestUri,
        "uri" => Var::Uri,
        "request" => Var::Request,
        "scheme" => Var::Scheme,
        "query_string" | "args" => Var::QueryString,
        "host" | "hostname" | "server_name" => Var::Host,
        "http_host" => Var::HttpHost,
        "remote_addr" => Var::RemoteAddr,
        "remote_user" => Var::RemoteUser,
        "proxy_add_x_forwarded_for" => Var::ProxyAddXForwardedFor,
        "time_iso8601" => Var::TimeIso8601,
        "time_local" => Var::TimeLocal,
        "msec" => Var::Msec,
        "content_type" => Var::ContentType,
        "content_length" => Var::ContentLength,
        "server_protocol" => Var::ServerProtocol,
        "request_time" => Var::RequestTime,
        "request_length" => Var::RequestLength,
        _ => {
            if let Some(h) = name.strip_prefix("http_") {
                return HeaderName::from_bytes(h.replace('_', "-").as_bytes())
                    .map_or(Var::Unknown, Var::Header);
            }
            if let Some(q) = name.strip_prefix("arg_") {
                return Var::Arg(q.to_string());
            }
            if let Some(c) = name.strip_prefix("cookie_") {
                return Var::Cookie(c.to_string());
            }
            params
                .iter()
                .position(|p| p == name)
                .map_or(Var::Unknown, Var::Param)
        }
    }
}

/// Parses a value into parts; `params` are the path's parameter names.
fn parse(value: &str, params: &[String]) -> Vec<Part> {
    let mut parts = Vec::new();
    let mut lit = String::new();
    let mut rest = value;
    while let Some(at) = rest.find('$') {
        lit.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        // `${name}` / `${name:default}`: a non-empty name before any ':'.
        if let Some(inner) = after.strip_prefix('{') {
            if let Some(close) = inner.find('}') {
                let body = &inner[..close];
                let (name, default) = match body.split_once(':') {
                    Some((n, d)) => (n, Some(d)),
                    None => (body, None),
                };
                if !name.is_empty() {
                    if !lit.is_empty() {
                        parts.push(Part::Lit(std::mem::take(&mut lit)));
                    }
                    let default = default.filter(|d| !d.is_empty()).map(str::to_string);
                    parts.push(Part::Var(var_of(name, params), default));
                    rest = &inner[close + 1..];
                    continue;
                }
            }
        }
        // `$name`: a letter or `_`, then letters, digits, `_`.
        let len = after
            .char_indices()
            .take_while(|(i, c)| {
                c.is_ascii_alphabetic() || *c == '_' || (*i > 0 && c.is_ascii_digit())
            })
            .count();
        if len > 0 {
            if !lit.is_empty() {
                parts.push(Part::Lit(std::mem::take(&mut lit)));
            }
            parts.push(Part::Var(var_of(&after[..len], params), None));
            rest = &after[len..];
        } else {
            lit.push('$');
            rest = after;
        }
    }
    lit.push_str(rest);
    if !lit.is_empty() {
        parts.push(Part::Lit(lit));
    }
    parts
}

impl SetHeaders {
    /// Compiles `setHeaders` at `path` for a path whose parameters are `params`; `None`
    /// when empty.
    pub(crate) fn compile(
        map: &BTreeMap<String, String>,
        params: &[String],
        path: &str,
    ) -> Result<Option<SetHeaders>, SpecError> {
        if map.is_empty() {
            return Ok(None);
        }
        let mut entries = Vec::with_capacity(map.len());
        for (k, v) in map {
            let at = eg_spec::error::join_path(path, k);
            let name = HeaderName::from_bytes(k.as_bytes())
                .map_err(|_| SpecError::new(&at, format!("invalid header name {k:?}")))?;
            let action = if v.is_empty() {
                Action::Delete
            } else {
                let parts = parse(v, params);
                match parts.as_slice() {
                    [Part::Lit(text)] => {
                        Action::Fixed(HeaderValue::from_str(text).map_err(|_| {
                            SpecError::new(&at, format!("invalid header value {v:?}"))
                        })?)
                    }
                    _ => {
                        for p in &parts {
                            if let Part::Lit(text) | Part::Var(_, Some(text)) = p {
                                if HeaderValue::from_str(text).is_err() {
                                    return Err(SpecError::new(
                                        &at,
                                        format!("invalid header value {v:?}"),
                                    ));
                                }
                            }
                        }
                        Action::Template(parts.into_boxed_slice())
                    }
                }
            };
            entries.push((name, action));
        }
        Ok(Some(SetHeaders {
            entries: entries.into_boxed_slice(),
        }))
    }

    /// Whether a value uses a path parameter.
    pub(crate) fn uses_params(&self) -> bool {
        self.entries.iter().any(|(_, a)| match a {
            Action::Template(parts) => parts
                .iter()
                .any(|p| matches!(p, Part::Var(Var::Param(_), _))),
            _ => false,
        })
    }

    /// The changes for `req`: each header with its new value, or `None` to delete it.
    pub(crate) fn evaluate(&self, req: &Request<'_>) -> Vec<(HeaderName, Option<HeaderValue>)> {
        let mut out = Vec::with_capacity(self.entries.len());
        for (name, action) in self.entries.iter() {
            let value = match action {
                Action::Delete => None,
                Action::Fixed(v) => Some(v.clone()),
                Action::Template(parts) => {
                    let mut text = String::new();
                    for p in parts.iter() {
                        match p {
                            Part::Lit(s) => text.push_str(s),
                            Part::Var(var, default) => {
                                let v = value_of(var, req);
                                match default {
                                    Some(d) if v.is_empty() => text.push_str(d),
                                    _ => text.push_str(&v),
                                }
                            }
                        }
                    }
                    if text.is_empty() {
                        None
                    } else {
                        match HeaderValue::from_str(&text) {
                            Ok(v) => Some(v),
                            Err(_) => {
                                tracing::debug!(header = %name, "setHeaders value is not a valid header value; left alone");
                                continue;
                            }
                        }
                    }
                }
            };
            out.push((name.clone(), value));
        }
        out
    }
}

fn header<'a>(head: &'a Parts, name: &HeaderName) -> Cow<'a, str> {
    head.headers
        .get(name)
        .map_or(Cow::Borrowed(""), |v| String::from_utf8_lossy(v.as_bytes()))
}

fn host_with_port(head: &Parts) -> &str {
    head.headers
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| head.uri.authority().map(|a| a.as_str()))
        .unwrap_or("")
}

fn proto(head: &Parts) -> &'static str {
    match head.version {
        http::Version::HTTP_09 => "HTTP/0.9",
        http::Version::HTTP_10 => "HTTP/1.0",
        http::Version::HTTP_2 => "HTTP/2.0",
        http::Version::HTTP_3 => "HTTP/3.0",
        _ => "HTTP/1.1",
    }
}

fn request_uri(head: &Parts) -> String {
    let mut uri = eg_protocols::escape::decode_path(head.uri.path()).into_owned();
    if let Some(q) = head.uri.query().filter(|q| !q.is_empty()) {
        uri.push('?');
        uri.push_str(q);
    }
    uri
}

fn basic_user(head: &Parts) -> Option<String> {
    let auth = head.headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, b64) = auth.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (user, _) = text.split_once(':')?;
    Some(user.to_string())
}

fn cookie(head: &Parts, name: &str) -> Option<String> {
    for v in head.headers.get_all(COOKIE) {
        let Ok(v) = v.to_str() else { continue };
        for pair in v.split(';') {
            let (k, val) = pair.trim().split_once('=').unwrap_or((pair.trim(), ""));
            if k == name {
                return Some(val.trim_matches('"').to_string());
            }
        }
    }
    None
}

fn value_of<'a>(var: &Var, req: &Request<'a>) -> Cow<'a, str> {
    let head = req.head;
    match var {
        Var::RequestMethod => Cow::Borrowed(head.method.as_str()),
        Var::RequestUri => request_uri(head).into(),
        Var::Uri => eg_protocols::escape::decode_path(head.uri.path()),
        Var::Request => format!("{} {} {}", head.method, request_uri(head), proto(head)).into(),
        Var::Scheme => Cow::Borrowed(match head.uri.scheme_str() {
            Some("https") => "https",
            Some(_) => "http",
            None if req.tls => "https",
            None => "http",
        }),
        Var::QueryString => Cow::Borrowed(head.uri.query().unwrap_or("")),
        Var::Host => Cow::Borrowed(eg_protocols::host::unbracket(strip_port(host_with_port(
            head,
        )))),
        Var::HttpHost => Cow::Borrowed(host_with_port(head)),
        Var::RemoteAddr => req.real_ip.to_string().into(),
        Var::RemoteUser => basic_user(head).unwrap_or_default().into(),
        Var::ProxyAddXForwardedFor => {
            let ip = req.real_ip.to_string();
            match head
                .headers
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
            {
                Some(xff) if !xff.is_empty() => format!("{xff}, {ip}").into(),
                _ => ip.into(),
            }
        }
        Var::TimeIso8601 => chrono::Local::now()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            .into(),
        Var::TimeLocal => chrono::Local::now()
            .format("%d/%b/%Y:%H:%M:%S %z")
            .to_string()
            .into(),
        Var::Msec => chrono::Utc::now().timestamp_millis().to_string().into(),
        Var::ContentType => header(head, &CONTENT_TYPE),
        Var::ContentLength => header(head, &CONTENT_LENGTH),
        Var::ServerProtocol => Cow::Borrowed(proto(head)),
        Var::RequestTime => Cow::Borrowed("0.000"),
        Var::RequestLength => match header(head, &CONTENT_LENGTH) {
            v if v.is_empty() => Cow::Borrowed("0"),
            v => v,
        },
        Var::Header(name) => header(head, name),
        Var::Arg(q) => query_value(head.uri.query().unwrap_or(""), q)
            .map_or(Cow::Borrowed(""), |v| Cow::Owned(v.into_owned())),
        Var::Cookie(c) => cookie(head, c).unwrap_or_default().into(),
        Var::Param(i) => req
            .params
            .get(*i)
            .map_or(Cow::Borrowed(""), |p| Cow::Owned(p.clone())),
        Var::Unknown => Cow::Borrowed(""),
    }
}

#[cfg(test)]
mod tests;
