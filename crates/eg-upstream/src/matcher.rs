//! Request matchers: which requests a candidate or mirror pool takes (a pool's `filter`).

use std::net::IpAddr;

use eg_protocols::escape::decode_path;
use eg_protocols::standard_method as parse_method;
use eg_protocols::HttpRequest;
use eg_spec::{SpecError, StringMatcher};
use http::header::HeaderName;
use http::Method;

use crate::balance::{fnv32, ip_text, StackText};
use crate::spec::RequestMatcherSpec;

/// The number of permil buckets.
const PERMIL: u32 = 1000;

/// A compiled `filter` of a pool.
#[derive(Debug)]
pub enum RequestMatcher {
    /// Headers (any or all) and optional method/path rules.
    General {
        /// Every header must match instead of any.
        match_all: bool,
        /// Header rules.
        headers: Box<[(HeaderName, StringMatcher)]>,
        /// Method and path rules; any must match when not empty.
        urls: Box<[UrlRule]>,
        /// gRPC full-method matchers (the request path); any must match when not empty.
        methods: Box<[StringMatcher]>,
    },
    /// FNV-32 of the client IP modulo 1000 below `permil`.
    IpHash {
        /// Share in 1..=1000.
        permil: u32,
    },
    /// FNV-32 of a header value modulo 1000 below `permil`.
    HeaderHash {
        /// Share in 1..=1000.
        permil: u32,
        /// The hashed header.
        key: HeaderName,
    },
    /// A random number modulo 1000 below `permil`.
    Random {
        /// Share in 1..=1000.
        permil: u32,
    },
}

/// One `urls[]` rule.
#[derive(Debug)]
pub struct UrlRule {
    methods: Box<[Method]>,
    url: StringMatcher,
}

impl RequestMatcher {
    /// Checks and compiles `spec` of an HTTP proxy (no `methods`); errors are reported
    /// under `path` (the `filter` field).
    pub fn compile(spec: &RequestMatcherSpec, path: &str) -> Result<RequestMatcher, SpecError> {
        if !spec.methods.is_empty() {
            return Err(SpecError::new(
                format!("{path}.methods"),
                "methods matchers are for gRPC proxies only",
            ));
        }
        RequestMatcher::compile_with_methods(spec, path)
    }

    /// Checks and compiles `spec` of a gRPC proxy: `general` may match full methods
    /// (`methods`) instead of, or besides, headers.
    pub fn compile_with_methods(
        spec: &RequestMatcherSpec,
        path: &str,
    ) -> Result<RequestMatcher, SpecError> {
        let permil = || -> Result<u32, SpecError> {
            if spec.permil <= 0 || spec.permil > i64::from(PERMIL) {
                return Err(SpecError::new(
                    format!("{path}.permil"),
                    "permil is not specified: must be in 1..=1000",
                ));
            }
            Ok(spec.permil as u32)
        };
        match spec.policy.as_str() {
            "" | "general" => {
                if spec.headers.is_empty() && spec.methods.is_empty() {
                    return Err(SpecError::new(
                        format!("{path}.headers"),
                        "headers is not specified",
                    ));
                }
                let mut headers = Vec::with_capacity(spec.headers.len());
                for (name, m) in &spec.headers {
                    let hpath = format!("{path}.headers.{name}");
                    let hn = HeaderName::from_bytes(name.as_bytes())
                        .map_err(|_| SpecError::new(&hpath, "invalid header name"))?;
                    headers.push((hn, m.compile(&hpath)?));
                }
                let mut urls = Vec::with_capacity(spec.urls.len());
                for (i, u) in spec.urls.iter().enumerate() {
                    let upath = format!("{path}.urls[{i}]");
                    let mut methods = Vec::with_capacity(u.methods.len());
                    for (j, m) in u.methods.iter().enumerate() {
                        methods.push(parse_method(m).ok_or_else(|| {
                            SpecError::new(
                                format!("{upath}.methods[{j}]"),
                                format!("invalid method {m:?}"),
                            )
                        })?);
                    }
                    urls.push(UrlRule {
                        methods: methods.into(),
                        url: u.url.compile(&format!("{upath}.url"))?,
                    });
                }
                let mut methods = Vec::with_capacity(spec.methods.len());
                for (i, m) in spec.methods.iter().enumerate() {
                    methods.push(m.compile(&format!("{path}.methods[{i}]"))?);
                }
                Ok(RequestMatcher::General {
                    match_all: spec.match_all_headers,
                    headers: headers.into(),
                    urls: urls.into(),
                    methods: methods.into(),
                })
            }
            "ipHash" => Ok(RequestMatcher::IpHash { permil: permil()? }),
            "headerHash" => {
                let permil = permil()?;
                if spec.header_hash_key.is_empty() {
                    return Err(SpecError::new(
                        format!("{path}.headerHashKey"),
                        "headerHash needs to specify headerHashKey",
                    ));
                }
                let key =
                    HeaderName::from_bytes(spec.header_hash_key.as_bytes()).map_err(|_| {
                        SpecError::new(format!("{path}.headerHashKey"), "invalid header name")
                    })?;
                Ok(RequestMatcher::HeaderHash { permil, key })
            }
            "random" => Ok(RequestMatcher::Random { permil: permil()? }),
            other => Err(SpecError::new(
                format!("{path}.policy"),
                format!("unknown policy {other:?}: use general, ipHash, headerHash or random"),
            )),
        }
    }

    /// Whether `req` (from a client at `real_ip`) is taken by this pool.
    pub fn matches(&self, req: &HttpRequest, real_ip: IpAddr) -> bool {
        match self {
            RequestMatcher::General {
                match_all,
                headers,
                urls,
                methods,
            } => {
                if !methods.is_empty() && !methods.iter().any(|m| m.matches(req.path())) {
                    return false;
                }
                if headers.is_empty() {
                    return urls.is_empty() || urls.iter().any(|u| u.matches(req));
                }
                let matched = if *match_all {
                    headers.iter().all(|(n, m)| header_matches(req, n, m))
                } else {
                    headers.iter().any(|(n, m)| header_matches(req, n, m))
                };
                matched && (urls.is_empty() || urls.iter().any(|u| u.matches(req)))
            }
            RequestMatcher::IpHash { permil } => {
                let mut buf = StackText::new();
                fnv32(ip_text(real_ip, &mut buf)) % PERMIL < *permil
            }
            RequestMatcher::HeaderHash { permil, key } => {
                let v = req.headers().get(key).map(|v| v.as_bytes()).unwrap_or(b"");
                fnv32(v) % PERMIL < *permil
            }
            RequestMatcher::Random { permil } => rand::random::<u32>() % PERMIL < *permil,
        }
    }
}

/// A missing header is matched as `""`; otherwise any of its values may match.
fn header_matches(req: &HttpRequest, name: &HeaderName, m: &StringMatcher) -> bool {
    let mut values = req.headers().get_all(name).iter().peekable();
    if values.peek().is_none() {
        return m.matches("");
    }
    values.any(|v| m.matches(v.to_str().unwrap_or("")))
}

impl UrlRule {
    fn matches(&self, req: &HttpRequest) -> bool {
        if !self.methods.is_empty() && !self.methods.contains(req.method()) {
            return false;
        }
        self.url.matches(&decode_path(req.path()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_rules_match_the_decoded_path() {
        let spec: RequestMatcherSpec = serde_json::from_value(serde_json::json!({
            "headers": {"X-A": {"empty": true}},
            "urls": [{"methods": ["GET"], "url": {"exact": "/中文"}}],
        }))
        .unwrap();
        let m = RequestMatcher::compile(&spec, "filter").unwrap();
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let req = HttpRequest::simple(Method::GET, "/%E4%B8%AD%E6%96%87").unwrap();
        assert!(m.matches(&req, ip));
        let req = HttpRequest::simple(Method::POST, "/%E4%B8%AD%E6%96%87").unwrap();
        assert!(!m.matches(&req, ip));
    }

    #[test]
    fn grpc_methods_match_the_full_method() {
        let spec: RequestMatcherSpec = serde_json::from_value(serde_json::json!({
            "methods": [{"exact": "/a.S/One"}, {"prefix": "/b.S/"}],
        }))
        .unwrap();
        assert!(RequestMatcher::compile(&spec, "filter")
            .unwrap_err()
            .to_string()
            .starts_with("filter.methods"));
        let m = RequestMatcher::compile_with_methods(&spec, "filter").unwrap();
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        for (path, want) in [("/a.S/One", true), ("/b.S/Two", true), ("/a.S/Two", false)] {
            let req = HttpRequest::simple(Method::POST, path).unwrap();
            assert_eq!(m.matches(&req, ip), want, "{path}");
        }
        let bad: RequestMatcherSpec =
            serde_json::from_value(serde_json::json!({"methods": [{"regex": "("}]})).unwrap();
        let err = RequestMatcher::compile_with_methods(&bad, "filter").unwrap_err();
        assert!(err.to_string().starts_with("filter.methods[0]"), "{err}");
    }
}
