//! Routing of gRPC calls, in Easegress's order: server IP filter, then rules in order
//! (host, rule IP filter), then the rule's methods in order (full method, headers, method
//! IP filter); the first full match wins.

use std::net::IpAddr;

use eg_protocols::grpc::Code;
use eg_spec::{IpFilter, SpecError};
use http::HeaderMap;
use regex::Regex;

use super::spec::{MethodSpec, RuleSpec};
use crate::httpserver::router::matchers::ValueMatchers;

/// Why a call found no route: the gRPC status and message it is answered with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Refusal {
    /// The status code.
    pub code: Code,
    /// The status message.
    pub message: &'static str,
}

/// An IP filter refused the call.
pub(crate) const NOT_ALLOWED: Refusal = Refusal {
    code: Code::PermissionDenied,
    message: "request isn't allowed",
};
/// A method matched but its header conditions did not.
pub(crate) const HEADER_MISMATCH: Refusal = Refusal {
    code: Code::NotFound,
    message: "grpc stream header mismatch",
};
/// Nothing matched.
pub(crate) const NO_MATCH: Refusal = Refusal {
    code: Code::NotFound,
    message: "grpc stream miss match any conditions",
};

/// A compiled method condition.
#[derive(Debug)]
pub(crate) struct Method {
    exact: String,
    prefix: String,
    regexp: Option<Regex>,
    headers: Option<ValueMatchers>,
    ip_filter: Option<IpFilter>,
    /// The pipeline.
    pub backend: String,
    /// What the route is listed as in statistics.
    pub pattern: String,
}

impl Method {
    fn matches(&self, full_method: &str) -> bool {
        if self.exact.is_empty() && self.prefix.is_empty() && self.regexp.is_none() {
            return true;
        }
        (!self.exact.is_empty() && self.exact == full_method)
            || (!self.prefix.is_empty() && full_method.starts_with(&self.prefix))
            || self
                .regexp
                .as_ref()
                .is_some_and(|re| re.is_match(full_method))
    }
}

#[derive(Debug)]
struct Rule {
    host: String,
    host_regexp: Option<Regex>,
    ip_filter: Option<IpFilter>,
    /// Indexes into [`Router::methods`].
    methods: std::ops::Range<usize>,
}

impl Rule {
    fn matches(&self, host: &str) -> bool {
        if self.host.is_empty() && self.host_regexp.is_none() {
            return true;
        }
        (!self.host.is_empty() && self.host == host)
            || self
                .host_regexp
                .as_ref()
                .is_some_and(|re| re.is_match(host))
    }
}

/// The outcome of a search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Found {
    /// The route, or why there is none.
    pub route: Result<usize, Refusal>,
    /// Whether the decision depends on more than host and method (headers, IP filters),
    /// so it may not be cached.
    pub uncacheable: bool,
}

/// Compiled rules; every method of every rule is one route.
#[derive(Debug)]
pub(crate) struct Router {
    rules: Vec<Rule>,
    /// Every route, in rule order.
    pub methods: Vec<Method>,
}

fn regexp(text: &str, path: &str) -> Result<Option<Regex>, SpecError> {
    if text.is_empty() {
        return Ok(None);
    }
    Regex::new(text)
        .map(Some)
        .map_err(|e| SpecError::new(path, format!("invalid regexp {text:?}: {e}")))
}

fn ip_filter(
    spec: &Option<eg_spec::IpFilterSpec>,
    path: &str,
) -> Result<Option<IpFilter>, SpecError> {
    spec.as_ref()
        .map(|f| f.compile(&format!("{path}.ipFilter")))
        .transpose()
}

fn compile_method(m: &MethodSpec, path: &str) -> Result<Method, SpecError> {
    for (field, value) in [("method", &m.method), ("methodPrefix", &m.method_prefix)] {
        if !value.is_empty() && !value.starts_with('/') {
            return Err(SpecError::new(
                format!("{path}.{field}"),
                format!("must start with '/', got {value:?}"),
            ));
        }
    }
    if m.backend.is_empty() {
        return Err(SpecError::new(
            format!("{path}.backend"),
            "backend is required",
        ));
    }
    let pattern = [&m.method, &m.method_prefix, &m.method_regexp]
        .into_iter()
        .find(|s| !s.is_empty())
        .cloned()
        .unwrap_or_else(|| "*".to_string());
    Ok(Method {
        exact: m.method.clone(),
        prefix: m.method_prefix.clone(),
        regexp: regexp(&m.method_regexp, &format!("{path}.methodRegexp"))?,
        headers: ValueMatchers::compile(
            &m.headers,
            m.match_all_header,
            &format!("{path}.headers"),
        )?,
        ip_filter: ip_filter(&m.ip_filter, path)?,
        backend: m.backend.clone(),
        pattern,
    })
}

impl Router {
    /// Compiles `rules[]`; errors name the field path.
    pub fn compile(rules: &[RuleSpec]) -> Result<Router, SpecError> {
        let mut out = Router {
            rules: Vec::with_capacity(rules.len()),
            methods: Vec::new(),
        };
        for (ri, r) in rules.iter().enumerate() {
            let rpath = format!("rules[{ri}]");
            let first = out.methods.len();
            for (mi, m) in r.methods.iter().enumerate() {
                out.methods
                    .push(compile_method(m, &format!("{rpath}.methods[{mi}]"))?);
            }
            out.rules.push(Rule {
                host: r.host.clone(),
                host_regexp: regexp(&r.host_regexp, &format!("{rpath}.hostRegexp"))?,
                ip_filter: ip_filter(&r.ip_filter, &rpath)?,
                methods: first..out.methods.len(),
            });
        }
        Ok(out)
    }

    /// Finds the route of a call to `full_method` on `host` from `ip`.
    pub fn search(&self, host: &str, full_method: &str, headers: &HeaderMap, ip: IpAddr) -> Found {
        let mut uncacheable = false;
        let mut header_mismatch = false;
        for rule in &self.rules {
            if !rule.matches(host) {
                continue;
            }
            if let Some(f) = &rule.ip_filter {
                if !f.allows(ip) {
                    return Found {
                        route: Err(NOT_ALLOWED),
                        uncacheable: true,
                    };
                }
                uncacheable = true;
            }
            for i in rule.methods.clone() {
                let m = &self.methods[i];
                if !m.matches(full_method) {
                    continue;
                }
                if let Some(h) = &m.headers {
                    uncacheable = true;
                    if !h.match_headers(headers) {
                        header_mismatch = true;
                        continue;
                    }
                }
                if let Some(f) = &m.ip_filter {
                    uncacheable = true;
                    if !f.allows(ip) {
                        return Found {
                            route: Err(NOT_ALLOWED),
                            uncacheable,
                        };
                    }
                }
                return Found {
                    route: Ok(i),
                    uncacheable,
                };
            }
        }
        Found {
            route: Err(if header_mismatch {
                HEADER_MISMATCH
            } else {
                NO_MATCH
            }),
            uncacheable,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn router(rules: serde_json::Value) -> Router {
        let rules: Vec<RuleSpec> = serde_json::from_value(rules).unwrap();
        Router::compile(&rules).unwrap()
    }

    const IP: &str = "10.0.0.1";

    fn find(
        r: &Router,
        host: &str,
        method: &str,
        headers: &[(&'static str, &'static str)],
    ) -> Result<usize, Refusal> {
        let mut h = HeaderMap::new();
        for (k, v) in headers {
            h.insert(*k, http::HeaderValue::from_static(v));
        }
        r.search(host, method, &h, IP.parse().unwrap()).route
    }

    #[test]
    fn methods_match_exact_prefix_and_regexp_in_order() {
        let r = router(json!([{"methods": [
            {"method": "/a.S/One", "backend": "p0"},
            {"methodPrefix": "/a.S/", "backend": "p1"},
            {"methodRegexp": "^/b\\.", "backend": "p2"},
            {"backend": "p3"},
        ]}]));
        assert_eq!(find(&r, "h", "/a.S/One", &[]), Ok(0));
        assert_eq!(find(&r, "h", "/a.S/Two", &[]), Ok(1));
        assert_eq!(find(&r, "h", "/b.T/X", &[]), Ok(2));
        assert_eq!(find(&r, "h", "/c.U/Y", &[]), Ok(3));
    }

    #[test]
    fn hosts_headers_and_ip_filters() {
        let r = router(json!([
            {"host": "a.example", "methods": [{"backend": "a"}]},
            {"hostRegexp": "^b\\.", "methods": [
                {"methodPrefix": "/s.S/", "headers": [{"key": "x-env", "values": ["blue"]}], "backend": "blue"},
            ]},
            {"host": "c.example", "ipFilter": {"blockByDefault": true, "allowIPs": ["192.168.0.0/16"]},
             "methods": [{"backend": "c"}]},
            {"host": "d.example", "methods": [
                {"backend": "d", "ipFilter": {"blockIPs": [IP]}}]},
        ]));
        assert_eq!(find(&r, "a.example", "/x.X/Y", &[]), Ok(0));
        assert_eq!(find(&r, "b.example", "/s.S/Y", &[("x-env", "blue")]), Ok(1));
        assert_eq!(
            find(&r, "b.example", "/s.S/Y", &[("x-env", "green")]),
            Err(HEADER_MISMATCH)
        );
        assert_eq!(find(&r, "c.example", "/s.S/Y", &[]), Err(NOT_ALLOWED));
        assert_eq!(find(&r, "d.example", "/s.S/Y", &[]), Err(NOT_ALLOWED));
        assert_eq!(find(&r, "z.example", "/s.S/Y", &[]), Err(NO_MATCH));
    }
}
