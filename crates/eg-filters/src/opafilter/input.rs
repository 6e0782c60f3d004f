//! The `input` document a policy sees, key by key as Easegress builds it:
//!
//! ```text
//! input.request.method      "POST"
//! input.request.path        "/a/b c"          (percent-decoded)
//! input.request.path_parts  ["a", "b c"]      (path split on "/" after trimming slashes)
//! input.request.raw_query   "a=1&a=2"
//! input.request.query       {"a": ["1", "2"]} (Go's url.ParseQuery)
//! input.request.headers     {"X-Token": "1, 2"} (only includedHeaders, canonical names,
//!                                                values joined with ", ")
//! input.request.scheme      "https"
//! input.request.realIP      "10.0.0.1"
//! input.request.body        ""                (the body text with readBody, else "")
//! ```

use std::collections::BTreeMap;
use std::net::IpAddr;

use eg_protocols::escape::decode_path;
use eg_protocols::HttpRequest;
use http::{HeaderName, Version};
use regorus::Value;

use crate::template::parse_query;

/// Separator of the values of a header sent several times, as Go's `strings.Join`.
const VALUE_SEPARATOR: &str = ", ";

/// One `includedHeaders` entry: the header and the canonical name the policy sees.
#[derive(Debug, Clone)]
pub struct IncludedHeader {
    /// The header looked up.
    pub name: HeaderName,
    /// Its key in `input.request.headers` (`X-Jwt-Header`).
    pub key: String,
}

/// The `input` document for `req`, with `body` as `input.request.body`.
pub fn document(
    req: &HttpRequest,
    real_ip: IpAddr,
    included: &[IncludedHeader],
    body: &str,
) -> Value {
    let path = decode_path(req.path());
    let path_parts: Vec<Value> = path.trim_matches('/').split('/').map(Value::from).collect();

    let mut query: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for (k, v) in parse_query(req.query()) {
        query.entry(k).or_default().push(Value::from(v));
    }
    let query: BTreeMap<Value, Value> = query
        .into_iter()
        .map(|(k, vs)| (Value::from(k), Value::from(vs)))
        .collect();

    let mut headers = BTreeMap::new();
    for h in included {
        let mut values = req.headers().get_all(&h.name).iter().peekable();
        if values.peek().is_none() {
            continue;
        }
        let joined = values
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect::<Vec<_>>()
            .join(VALUE_SEPARATOR);
        headers.insert(Value::from(h.key.as_str()), Value::from(joined));
    }

    let request: BTreeMap<Value, Value> = [
        ("method", Value::from(req.method().as_str())),
        ("path", Value::from(path.as_ref())),
        ("path_parts", Value::from(path_parts)),
        ("raw_query", Value::from(req.query())),
        ("query", Value::from(query)),
        ("headers", Value::from(headers)),
        ("scheme", Value::from(scheme(req))),
        ("realIP", Value::from(real_ip.to_string())),
        ("body", Value::from(body)),
    ]
    .into_iter()
    .map(|(k, v)| (Value::from(k), v))
    .collect();
    Value::from(BTreeMap::from([(
        Value::from("request"),
        Value::from(request),
    )]))
}

/// Easegress's request scheme: the scheme of an absolute request target (HTTP/1), else a
/// non-empty `X-Forwarded-Proto`, else `https` over TLS, else `http`.
fn scheme(req: &HttpRequest) -> &str {
    if req.version() < Version::HTTP_2 {
        if let Some(s) = req.uri().scheme_str() {
            return s;
        }
    }
    match req.header("x-forwarded-proto").filter(|s| !s.is_empty()) {
        Some(p) => p,
        None if req.over_tls() => "https",
        None => "http",
    }
}
