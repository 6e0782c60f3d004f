//! The request, response, header, URL and data objects a template sees.
//!
//! They mirror what Easegress hands to Go's `text/template`: a request is an `http.Request`
//! plus `Body`, `RawBody`, `JSONBody` and `YAMLBody`; a response an `http.Response` plus the
//! same body accessors. Everything is computed on access; a body is parsed at most once per
//! render (and, as in Easegress, `JSONBody` and `YAMLBody` share that one parse).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use eg_protocols::escape::{query_escape, unescape};
use eg_template::{parse_json, ElemType, TemplateObject, Value};
use http::header::{AUTHORIZATION, COOKIE, HOST, REFERER, USER_AGENT};
use http::{request, HeaderMap, StatusCode, Uri, Version};

use super::convert::{json_to_value, yaml_to_value};

/// The body as a template sees it: the bytes, or Easegress's placeholder text for a body
/// that is still a stream.
pub(crate) enum BodyView {
    /// The buffered bytes.
    Bytes(Bytes),
    /// A body not read into memory: the placeholder text.
    Stream(String),
}

impl BodyView {
    fn bytes(&self) -> &[u8] {
        match self {
            BodyView::Bytes(b) => b,
            BodyView::Stream(s) => s.as_bytes(),
        }
    }

    fn text(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(self.bytes())
    }
}

/// The parsed-body cache: Easegress keeps one `parsedBody` for `JSONBody` and `YAMLBody`,
/// and caches only successful parses.
#[derive(Default)]
struct Parsed(OnceLock<Value>);

impl Parsed {
    fn json(&self, body: &BodyView) -> Result<Value, String> {
        if let Some(v) = self.0.get() {
            return Ok(v.clone());
        }
        let text = body.text();
        if text.trim().is_empty() {
            return Err("EOF".to_string());
        }
        let v = parse_json(&text)?;
        Ok(self.0.get_or_init(|| v).clone())
    }

    fn yaml(&self, body: &BodyView) -> Result<Value, String> {
        if let Some(v) = self.0.get() {
            return Ok(v.clone());
        }
        let v = yaml_to_value(&body.text())?;
        Ok(self.0.get_or_init(|| v).clone())
    }
}

fn raw_body(body: &BodyView) -> Value {
    Value::typed_list(
        body.bytes()
            .iter()
            .map(|b| Value::Int(i64::from(*b)))
            .collect(),
        ElemType::Int,
    )
}

fn proto(v: Version) -> (&'static str, i64, i64) {
    match v {
        Version::HTTP_09 => ("HTTP/0.9", 0, 9),
        Version::HTTP_10 => ("HTTP/1.0", 1, 0),
        Version::HTTP_2 => ("HTTP/2.0", 2, 0),
        Version::HTTP_3 => ("HTTP/3.0", 3, 0),
        _ => ("HTTP/1.1", 1, 1),
    }
}

fn content_length(headers: &HeaderMap, body: &BodyView, no_body: i64) -> i64 {
    if let Some(n) = eg_protocols::content_length(headers) {
        return i64::try_from(n).unwrap_or(i64::MAX);
    }
    match body {
        BodyView::Bytes(b) if b.is_empty() => no_body,
        BodyView::Bytes(b) => i64::try_from(b.len()).unwrap_or(i64::MAX),
        BodyView::Stream(_) => -1,
    }
}

fn first_arg(args: &[Value]) -> String {
    match args.first() {
        Some(Value::String(s)) => s.to_string(),
        Some(other) => Value::materialize(other).as_str().unwrap_or("").to_string(),
        None => String::new(),
    }
}

fn want_args(name: &str, args: &[Value], n: usize) -> Result<(), String> {
    if args.len() == n {
        Ok(())
    } else {
        Err(format!(
            "wrong number of args for {name}: want {n} got {}",
            args.len()
        ))
    }
}

/// A request lent to a template, with what the template may ask of it.
pub(crate) struct ReqInner {
    /// Method, URI, version and headers (moved out of the context during the render).
    pub head: request::Parts,
    /// The body.
    pub body: BodyView,
    /// The client address for the request that came from the client (`RemoteAddr`).
    pub remote_addr: Option<SocketAddr>,
    parsed: Parsed,
}

impl ReqInner {
    pub(crate) fn new(
        head: request::Parts,
        body: BodyView,
        remote_addr: Option<SocketAddr>,
    ) -> Self {
        ReqInner {
            head,
            body,
            remote_addr,
            parsed: Parsed::default(),
        }
    }

    fn host(&self) -> &str {
        if let Some(h) = self.head.headers.get(HOST).and_then(|v| v.to_str().ok()) {
            return h;
        }
        self.head.uri.authority().map(|a| a.as_str()).unwrap_or("")
    }

    fn header_str(&self, name: http::HeaderName) -> String {
        self.head
            .headers
            .get(name)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .unwrap_or_default()
    }

    fn cookies(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for v in self.head.headers.get_all(COOKIE) {
            for part in String::from_utf8_lossy(v.as_bytes()).split(';') {
                let part = part.trim();
                if part.is_empty() {
                    continue;
                }
                let (k, v) = part.split_once('=').unwrap_or((part, ""));
                let v = v
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .unwrap_or(v);
                out.push((k.to_string(), v.to_string()));
            }
        }
        out
    }

    /// `(username, password, ok)` from a `Basic` `Authorization` header.
    fn basic_auth(&self) -> (String, String, bool) {
        use base64::Engine as _;
        let Some(auth) = self
            .head
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
        else {
            return (String::new(), String::new(), false);
        };
        let Some(b64) = auth
            .get(..6)
            .filter(|p| p.eq_ignore_ascii_case("basic "))
            .map(|_| &auth[6..])
        else {
            return (String::new(), String::new(), false);
        };
        let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(b64) else {
            return (String::new(), String::new(), false);
        };
        let text = String::from_utf8_lossy(&decoded);
        match text.split_once(':') {
            Some((u, p)) => (u.to_string(), p.to_string(), true),
            None => (String::new(), String::new(), false),
        }
    }

    fn form_value(&self, key: &str) -> String {
        if let Some(v) = parse_query(self.head.uri.query().unwrap_or(""))
            .into_iter()
            .find(|(k, _)| k == key)
        {
            return v.1;
        }
        let form = self
            .head
            .headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
        if form {
            if let BodyView::Bytes(b) = &self.body {
                return parse_query(&String::from_utf8_lossy(b))
                    .into_iter()
                    .find(|(k, _)| k == key)
                    .map(|(_, v)| v)
                    .unwrap_or_default();
            }
        }
        String::new()
    }
}

/// `.req`, `.requests.<ns>`: Go's `*http.Request` wrapped by Easegress.
pub(crate) struct RequestObject(pub Arc<ReqInner>);

impl TemplateObject for RequestObject {
    fn type_name(&self) -> &str {
        "*httpprot.builderRequest"
    }

    fn field(&self, name: &str) -> Option<Value> {
        let r = &self.0;
        Some(match name {
            "Method" => Value::str(r.head.method.as_str()),
            "URL" => Value::object(UrlObject(r.head.uri.clone())),
            "Proto" => Value::str(proto(r.head.version).0),
            "ProtoMajor" => Value::Int(proto(r.head.version).1),
            "ProtoMinor" => Value::Int(proto(r.head.version).2),
            "Header" => Value::object(HeaderObject(HeaderSource::Request(r.clone()))),
            "Host" => Value::str(r.host()),
            "Body" => Value::str(&r.body.text()),
            "RawBody" => raw_body(&r.body),
            "ContentLength" => Value::Int64(content_length(&r.head.headers, &r.body, 0)),
            "RemoteAddr" => Value::str(&r.remote_addr.map(|a| a.to_string()).unwrap_or_default()),
            "RequestURI" => Value::str(&if r.remote_addr.is_some() {
                r.head.uri.to_string()
            } else {
                String::new()
            }),
            "Close" => Value::Bool(false),
            "TransferEncoding" => {
                let chunked = r
                    .head
                    .headers
                    .get(http::header::TRANSFER_ENCODING)
                    .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"chunked"));
                if chunked {
                    Value::string_list(["chunked"])
                } else {
                    Value::typed_list(Vec::new(), ElemType::String)
                }
            }
            "Cookies" => Value::typed_list(
                r.cookies()
                    .into_iter()
                    .map(|(n, v)| Value::object(CookieObject { name: n, value: v }))
                    .collect(),
                ElemType::Any,
            ),
            // Fields Go has but a gateway request never fills: their zero values.
            "Form" | "PostForm" | "Trailer" => {
                Value::typed_map(BTreeMap::new(), ElemType::StringList)
            }
            "MultipartForm" | "TLS" | "Response" | "Cancel" | "GetBody" => Value::Nil,
            "Pattern" => Value::str(""),
            "UserAgent" => Value::str(&r.header_str(USER_AGENT)),
            "Referer" => Value::str(&r.header_str(REFERER)),
            _ => return None,
        })
    }

    fn call_method(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        let r = &self.0;
        Some(match name {
            "JSONBody" => want_args(name, args, 0).and_then(|_| r.parsed.json(&r.body)),
            "YAMLBody" => want_args(name, args, 0).and_then(|_| r.parsed.yaml(&r.body)),
            "BasicAuth" => {
                let (u, p, ok) = r.basic_auth();
                Ok(Value::list(vec![
                    Value::str(&u),
                    Value::str(&p),
                    Value::Bool(ok),
                ]))
            }
            "Cookie" => {
                let key = first_arg(args);
                r.cookies()
                    .into_iter()
                    .find(|(n, _)| *n == key)
                    .map(|(n, v)| Value::object(CookieObject { name: n, value: v }))
                    .ok_or_else(|| "http: named cookie not present".to_string())
            }
            "FormValue" => {
                want_args(name, args, 1).map(|_| Value::str(&r.form_value(&first_arg(args))))
            }
            _ => return None,
        })
    }
}

/// A response lent to a template.
pub(crate) struct RespInner {
    /// Status code.
    pub status: StatusCode,
    /// Headers (moved out of the context during the render).
    pub headers: HeaderMap,
    /// The body.
    pub body: BodyView,
    parsed: Parsed,
}

impl RespInner {
    pub(crate) fn new(status: StatusCode, headers: HeaderMap, body: BodyView) -> Self {
        RespInner {
            status,
            headers,
            body,
            parsed: Parsed::default(),
        }
    }
}

/// `.resp`, `.responses.<ns>`: Go's `*http.Response` wrapped by Easegress.
pub(crate) struct ResponseObject(pub Arc<RespInner>);

impl TemplateObject for ResponseObject {
    fn type_name(&self) -> &str {
        "*httpprot.builderResponse"
    }

    fn field(&self, name: &str) -> Option<Value> {
        let r = &self.0;
        Some(match name {
            "StatusCode" => Value::Int(i64::from(r.status.as_u16())),
            "Status" => Value::str(&format!(
                "{} {}",
                r.status.as_u16(),
                r.status.canonical_reason().unwrap_or("")
            )),
            "Proto" => Value::str("HTTP/1.1"),
            "ProtoMajor" => Value::Int(1),
            "ProtoMinor" => Value::Int(1),
            "Header" => Value::object(HeaderObject(HeaderSource::Response(r.clone()))),
            "Body" => Value::str(&r.body.text()),
            "RawBody" => raw_body(&r.body),
            "ContentLength" => Value::Int64(content_length(&r.headers, &r.body, -1)),
            "Close" | "Uncompressed" => Value::Bool(false),
            "Trailer" => Value::typed_map(BTreeMap::new(), ElemType::StringList),
            "TransferEncoding" => Value::typed_list(Vec::new(), ElemType::String),
            "Request" | "TLS" => Value::Nil,
            _ => return None,
        })
    }

    fn call_method(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        let r = &self.0;
        Some(match name {
            "JSONBody" => want_args(name, args, 0).and_then(|_| r.parsed.json(&r.body)),
            "YAMLBody" => want_args(name, args, 0).and_then(|_| r.parsed.yaml(&r.body)),
            _ => return None,
        })
    }
}

/// Whose headers a [`HeaderObject`] shows.
pub(crate) enum HeaderSource {
    Request(Arc<ReqInner>),
    Response(Arc<RespInner>),
}

impl HeaderSource {
    fn map(&self) -> &HeaderMap {
        match self {
            HeaderSource::Request(r) => &r.head.headers,
            HeaderSource::Response(r) => &r.headers,
        }
    }

    /// Go's server moves `Host` (and `Transfer-Encoding`) of a client's request out of
    /// `Header` into fields of their own; a template does not see them as headers.
    fn hides(&self, key: &str) -> bool {
        match self {
            HeaderSource::Request(r) if r.remote_addr.is_some() => {
                key.eq_ignore_ascii_case("host") || key.eq_ignore_ascii_case("transfer-encoding")
            }
            _ => false,
        }
    }

    fn values(&self, key: &str) -> Vec<String> {
        if self.hides(key) {
            Vec::new()
        } else {
            values_of(self.map(), key)
        }
    }
}

/// Go's `CanonicalMIMEHeaderKey`: `x-request-id` → `X-Request-Id`. Keys with characters
/// that are not token characters are returned unchanged.
pub(crate) fn canonical_key(key: &str) -> Cow<'_, str> {
    let token = key
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if !token {
        return Cow::Borrowed(key);
    }
    let mut upper = true;
    let mut out = String::with_capacity(key.len());
    for c in key.chars() {
        out.push(if upper {
            c.to_ascii_uppercase()
        } else {
            c.to_ascii_lowercase()
        });
        upper = c == '-';
    }
    if out == key {
        Cow::Borrowed(key)
    } else {
        Cow::Owned(out)
    }
}

fn values_of(map: &HeaderMap, key: &str) -> Vec<String> {
    map.get_all(key)
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect()
}

/// `.Header`: Go's `http.Header` (a `map[string][]string` with canonical keys).
pub(crate) struct HeaderObject(pub HeaderSource);

impl TemplateObject for HeaderObject {
    fn type_name(&self) -> &str {
        "http.Header"
    }

    fn field(&self, name: &str) -> Option<Value> {
        // A map key: present only under its canonical spelling, as in Go.
        if canonical_key(name) != name || http::HeaderName::from_bytes(name.as_bytes()).is_err() {
            return Some(Value::Missing);
        }
        let vals = self.0.values(name);
        Some(if vals.is_empty() {
            Value::Missing
        } else {
            Value::string_list(vals)
        })
    }

    fn call_method(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        let key = first_arg(args);
        let valid = http::HeaderName::from_bytes(key.as_bytes()).is_ok();
        match name {
            "Get" => Some(want_args(name, args, 1).map(|_| {
                let v = if valid {
                    self.0.values(&key)
                } else {
                    Vec::new()
                };
                Value::str(v.first().map(String::as_str).unwrap_or(""))
            })),
            "Values" => Some(want_args(name, args, 1).map(|_| {
                let v = if valid {
                    self.0.values(&key)
                } else {
                    Vec::new()
                };
                Value::string_list(v)
            })),
            _ => None,
        }
    }

    fn to_value(&self) -> Option<Value> {
        let map = self.0.map();
        let mut out = BTreeMap::new();
        for key in map.keys() {
            if self.0.hides(key.as_str()) {
                continue;
            }
            out.insert(
                canonical_key(key.as_str()).into_owned(),
                Value::string_list(values_of(map, key.as_str())),
            );
        }
        Some(Value::typed_map(out, ElemType::StringList))
    }
}

/// `.URL`: Go's `*url.URL`.
pub(crate) struct UrlObject(pub Uri);

impl UrlObject {
    fn string(&self) -> String {
        self.0.to_string()
    }
}

impl TemplateObject for UrlObject {
    fn type_name(&self) -> &str {
        "*url.URL"
    }

    fn field(&self, name: &str) -> Option<Value> {
        let u = &self.0;
        let raw_path = u.path();
        let decoded = percent_decode(raw_path, false);
        Some(match name {
            "Scheme" => Value::str(u.scheme_str().unwrap_or("")),
            "Opaque" | "Fragment" | "RawFragment" => Value::str(""),
            "User" => Value::Nil,
            "Host" => Value::str(u.authority().map(|a| a.as_str()).unwrap_or("")),
            "Path" => Value::str(&decoded),
            "RawPath" => Value::str(if decoded == raw_path { "" } else { raw_path }),
            "RawQuery" => Value::str(u.query().unwrap_or("")),
            "ForceQuery" | "OmitHost" => Value::Bool(false),
            _ => return None,
        })
    }

    fn call_method(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        let u = &self.0;
        let host = u.host().unwrap_or("");
        let v = match name {
            "String" | "Redacted" => Value::str(&self.string()),
            "Query" => Value::object(ValuesObject(parse_query(u.query().unwrap_or("")))),
            "Hostname" => Value::str(host.trim_start_matches('[').trim_end_matches(']')),
            "Port" => Value::str(&u.port_u16().map(|p| p.to_string()).unwrap_or_default()),
            "EscapedPath" => Value::str(u.path()),
            "RequestURI" => Value::str(u.path_and_query().map(|p| p.as_str()).unwrap_or("/")),
            "IsAbs" => Value::Bool(u.scheme().is_some()),
            _ => return None,
        };
        Some(want_args(name, args, 0).map(|_| v))
    }

    fn to_value(&self) -> Option<Value> {
        // `*url.URL` prints through its `String` method.
        Some(Value::str(&self.string()))
    }
}

/// `.URL.Query`: Go's `url.Values`.
pub(crate) struct ValuesObject(pub Vec<(String, String)>);

impl ValuesObject {
    fn all(&self, key: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

impl TemplateObject for ValuesObject {
    fn type_name(&self) -> &str {
        "url.Values"
    }

    fn field(&self, name: &str) -> Option<Value> {
        let v = self.all(name);
        Some(if v.is_empty() {
            Value::Missing
        } else {
            Value::string_list(v)
        })
    }

    fn call_method(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        let key = first_arg(args);
        match name {
            "Get" => Some(
                want_args(name, args, 1)
                    .map(|_| Value::str(self.all(&key).first().copied().unwrap_or(""))),
            ),
            "Has" => {
                Some(want_args(name, args, 1).map(|_| Value::Bool(!self.all(&key).is_empty())))
            }
            "Encode" => Some(Ok(Value::str(
                &self
                    .0
                    .iter()
                    .map(|(k, v)| format!("{}={}", query_escape(k), query_escape(v)))
                    .collect::<Vec<_>>()
                    .join("&"),
            ))),
            _ => None,
        }
    }

    fn to_value(&self) -> Option<Value> {
        let mut out: BTreeMap<String, Vec<&str>> = BTreeMap::new();
        for (k, v) in &self.0 {
            out.entry(k.clone()).or_default().push(v);
        }
        Some(Value::typed_map(
            out.into_iter()
                .map(|(k, v)| (k, Value::string_list(v)))
                .collect(),
            ElemType::StringList,
        ))
    }
}

/// An element of `.Cookies` / the result of `.Cookie "name"`: Go's `*http.Cookie`.
pub(crate) struct CookieObject {
    name: String,
    value: String,
}

impl TemplateObject for CookieObject {
    fn type_name(&self) -> &str {
        "*http.Cookie"
    }

    fn field(&self, name: &str) -> Option<Value> {
        Some(match name {
            "Name" => Value::str(&self.name),
            "Value" => Value::str(&self.value),
            "Path" | "Domain" | "RawExpires" | "Raw" => Value::str(""),
            "MaxAge" => Value::Int(0),
            "Secure" | "HttpOnly" => Value::Bool(false),
            _ => return None,
        })
    }

    fn to_value(&self) -> Option<Value> {
        Some(Value::str(&format!("{}={}", self.name, self.value)))
    }
}

/// `.data`: the context's data map, converted on first access.
pub(crate) struct DataObject {
    /// The map moved out of the context for the render.
    pub map: Option<Box<serde_json::Map<String, serde_json::Value>>>,
    converted: OnceLock<Value>,
}

impl DataObject {
    pub(crate) fn new(map: Option<Box<serde_json::Map<String, serde_json::Value>>>) -> Self {
        DataObject {
            map,
            converted: OnceLock::new(),
        }
    }

    fn all(&self) -> &Value {
        self.converted.get_or_init(|| {
            Value::map(
                self.map
                    .iter()
                    .flat_map(|m| m.iter())
                    .map(|(k, v)| (k.clone(), json_to_value(v)))
                    .collect(),
            )
        })
    }
}

impl TemplateObject for DataObject {
    fn type_name(&self) -> &str {
        "map[string]interface {}"
    }

    fn field(&self, name: &str) -> Option<Value> {
        match self.all() {
            Value::Map(m) => Some(m.get(name).unwrap_or(Value::Missing)),
            _ => Some(Value::Missing),
        }
    }

    fn to_value(&self) -> Option<Value> {
        Some(self.all().clone())
    }
}

/// Splits a query string as Go's `url.ParseQuery` does (`&`-separated, `+` is a space,
/// pairs with bad escapes or a `;` are skipped).
pub(crate) fn parse_query(q: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for pair in q.split('&') {
        if pair.is_empty() || pair.contains(';') {
            continue;
        }
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match (unescape(k, true), unescape(v, true)) {
            (Some(k), Some(v)) => out.push((k, v)),
            _ => continue,
        }
    }
    out
}

/// Percent-decodes a path; text with a bad escape is returned as it is.
pub(crate) fn percent_decode(s: &str, plus_space: bool) -> String {
    if !(s.contains('%') || plus_space && s.contains('+')) {
        return s.to_string();
    }
    unescape(s, plus_space).unwrap_or_else(|| s.to_string())
}
