//! Host, method, header and query conditions.

use std::borrow::Cow;

use eg_protocols::escape::decode_query_component;
use eg_protocols::STANDARD_METHODS as METHODS;
use eg_spec::SpecError;
use http::{HeaderMap, Method};
use regex::Regex;

use crate::httpserver::spec::{HostSpec, RuleSpec, ValueMatchSpec};

/// One host condition.
#[derive(Debug)]
enum HostMatcher {
    Exact(String),
    /// `*.example.com`: the host ends with `.example.com`.
    Suffix(String),
    /// `www.example.*`: the host starts with `www.example.`.
    Prefix(String),
    Regexp(Regex),
}

/// The host conditions of a rule; empty matches any host.
#[derive(Debug, Default)]
pub(crate) struct Hosts(Vec<HostMatcher>);

impl Hosts {
    /// Compiles `host`, `hostRegexp` and `hosts[]` of a rule (in that order of checking:
    /// `hosts`, then `host`, then `hostRegexp`, as Easegress appends the latter two).
    pub fn compile(rule: &RuleSpec, rpath: &str) -> Result<Hosts, SpecError> {
        let mut out = Vec::new();
        for (i, h) in rule.hosts.iter().enumerate() {
            out.push(compile_host(h, &format!("{rpath}.hosts[{i}].value"))?);
        }
        if !rule.host.is_empty() {
            out.push(compile_host(
                &HostSpec {
                    value: rule.host.clone(),
                    is_regexp: false,
                },
                &format!("{rpath}.host"),
            )?);
        }
        if !rule.host_regexp.is_empty() {
            out.push(compile_host(
                &HostSpec {
                    value: rule.host_regexp.clone(),
                    is_regexp: true,
                },
                &format!("{rpath}.hostRegexp"),
            )?);
        }
        Ok(Hosts(out))
    }

    /// Whether `host` (without port) satisfies any condition.
    pub fn matches(&self, host: &str) -> bool {
        if self.0.is_empty() {
            return true;
        }
        self.0.iter().any(|m| match m {
            HostMatcher::Exact(e) => e.eq_ignore_ascii_case(host),
            HostMatcher::Suffix(s) => {
                host.len() >= s.len() && host[host.len() - s.len()..].eq_ignore_ascii_case(s)
            }
            HostMatcher::Prefix(p) => {
                host.len() >= p.len() && host[..p.len()].eq_ignore_ascii_case(p)
            }
            HostMatcher::Regexp(re) => re.is_match(host),
        })
    }
}

fn compile_host(h: &HostSpec, path: &str) -> Result<HostMatcher, SpecError> {
    if h.value.is_empty() {
        return Err(SpecError::new(path, "host value is required"));
    }
    if h.is_regexp {
        return Regex::new(&h.value)
            .map(HostMatcher::Regexp)
            .map_err(|e| SpecError::new(path, format!("invalid regexp {:?}: {e}", h.value)));
    }
    let v = &h.value;
    match v.matches('*').count() {
        0 => Ok(HostMatcher::Exact(v.clone())),
        1 if v.starts_with('*') => Ok(HostMatcher::Suffix(v[1..].to_string())),
        1 if v.ends_with('*') => Ok(HostMatcher::Prefix(v[..v.len() - 1].to_string())),
        _ => Err(SpecError::new(
            path,
            format!("invalid host {v:?}: only one '*' is allowed, at the start or the end"),
        )),
    }
}

/// Allowed methods as a bit set; `ALL` when the spec lists none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MethodSet(u16);

fn method_bit(m: &Method) -> u16 {
    METHODS.iter().position(|x| x == m).map_or(0, |i| 1 << i)
}

impl MethodSet {
    /// Every method, including extension methods.
    pub const ALL: MethodSet = MethodSet(u16::MAX);

    /// Compiles `methods[]`; unknown names are errors naming the entry.
    pub fn compile(methods: &[String], path: &str) -> Result<MethodSet, SpecError> {
        if methods.is_empty() {
            return Ok(MethodSet::ALL);
        }
        let mut bits = 0;
        for (i, m) in methods.iter().enumerate() {
            let bit = Method::from_bytes(m.as_bytes())
                .ok()
                .map(|m| method_bit(&m))
                .unwrap_or(0);
            if bit == 0 {
                return Err(SpecError::new(
                    format!("{path}[{i}]"),
                    format!("invalid HTTP method {m:?} (use GET, HEAD, POST, PUT, PATCH, DELETE, CONNECT, OPTIONS or TRACE)"),
                ));
            }
            bits |= bit;
        }
        Ok(MethodSet(bits))
    }

    /// Whether `m` is allowed.
    #[inline]
    pub fn contains(self, m: &Method) -> bool {
        self.0 == u16::MAX || self.0 & method_bit(m) != 0
    }
}

/// One header or query condition.
#[derive(Debug)]
struct ValueMatcher {
    key: String,
    values: Vec<String>,
    regexp: Option<Regex>,
}

/// Header or query conditions with their AND/OR mode.
#[derive(Debug)]
pub(crate) struct ValueMatchers {
    entries: Vec<ValueMatcher>,
    match_all: bool,
}

impl ValueMatchers {
    /// Compiles the entries; `None` when there are none.
    pub fn compile(
        specs: &[ValueMatchSpec],
        match_all: bool,
        path: &str,
    ) -> Result<Option<ValueMatchers>, SpecError> {
        if specs.is_empty() {
            return Ok(None);
        }
        let mut entries = Vec::with_capacity(specs.len());
        for (i, s) in specs.iter().enumerate() {
            let epath = format!("{path}[{i}]");
            if s.key.is_empty() {
                return Err(SpecError::new(format!("{epath}.key"), "key is required"));
            }
            if s.values.is_empty() && s.regexp.is_empty() {
                return Err(SpecError::new(
                    epath,
                    format!("both values and regexp are empty for key {:?}", s.key),
                ));
            }
            let regexp = if s.regexp.is_empty() {
                None
            } else {
                Some(Regex::new(&s.regexp).map_err(|e| {
                    SpecError::new(
                        format!("{epath}.regexp"),
                        format!("invalid regexp {:?}: {e}", s.regexp),
                    )
                })?)
            };
            entries.push(ValueMatcher {
                key: s.key.clone(),
                values: s.values.clone(),
                regexp,
            });
        }
        Ok(Some(ValueMatchers { entries, match_all }))
    }

    fn check<'v>(&self, get: impl Fn(&str) -> Cow<'v, str>) -> bool {
        if self.match_all {
            self.entries.iter().all(|e| {
                let v = get(&e.key);
                (e.values.is_empty() || e.values.iter().any(|x| *x == *v))
                    && e.regexp.as_ref().is_none_or(|re| re.is_match(&v))
            })
        } else {
            self.entries.iter().any(|e| {
                let v = get(&e.key);
                e.values.iter().any(|x| *x == *v)
                    || e.regexp.as_ref().is_some_and(|re| re.is_match(&v))
            })
        }
    }

    /// Checks the first value of each header (missing = empty string).
    pub fn match_headers(&self, headers: &HeaderMap) -> bool {
        self.check(|k| Cow::Borrowed(headers.get(k).and_then(|v| v.to_str().ok()).unwrap_or("")))
    }

    /// Checks the first decoded value of each query parameter (missing = empty string).
    pub fn match_query(&self, query: &str) -> bool {
        self.check(|k| query_value(query, k).unwrap_or(Cow::Borrowed("")))
    }
}

/// The first value of `key` in a URL query (`a=1&b=x+y`), decoded.
pub(crate) fn query_value<'q>(query: &'q str, key: &str) -> Option<Cow<'q, str>> {
    for pair in query.split(['&', ';']) {
        if pair.is_empty() {
            continue;
        }
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if decode_query_component(k) == key {
            return Some(decode_query_component(v));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_decoded() {
        assert_eq!(query_value("a=1&b=x+y%21", "b").as_deref(), Some("x y!"));
        assert_eq!(query_value("a=1&a=2", "a").as_deref(), Some("1"));
        assert_eq!(query_value("flag&x=%zz", "flag").as_deref(), Some(""));
        assert_eq!(query_value("x=%zz", "x").as_deref(), Some("%zz"));
        assert_eq!(query_value("x=%4", "x").as_deref(), Some("%4"));
        assert_eq!(query_value("", "x"), None);
    }

    #[test]
    fn hosts_exact_wildcards_and_regexp() {
        let rule = RuleSpec {
            host: "*.example.com".into(),
            host_regexp: "^api[0-9]+\\.test$".into(),
            hosts: vec![HostSpec {
                value: "www.foo.*".into(),
                is_regexp: false,
            }],
            ..Default::default()
        };
        let h = Hosts::compile(&rule, "rules[0]").unwrap();
        assert!(h.matches("a.example.com"));
        assert!(!h.matches("example.com"));
        assert!(h.matches("www.foo.org"));
        assert!(h.matches("api12.test"));
        assert!(!h.matches("api.test"));
        let bad = RuleSpec {
            host: "a.*.com".into(),
            ..Default::default()
        };
        assert_eq!(
            Hosts::compile(&bad, "rules[2]").unwrap_err().path,
            "rules[2].host"
        );
    }

    #[test]
    fn methods_compile_and_match() {
        let m = MethodSet::compile(&["GET".into(), "PUT".into()], "m").unwrap();
        assert!(m.contains(&Method::GET) && m.contains(&Method::PUT));
        assert!(!m.contains(&Method::POST));
        assert!(MethodSet::ALL.contains(&Method::from_bytes(b"PROPFIND").unwrap()));
        assert_eq!(
            MethodSet::compile(&["GET".into(), "FETCH".into()], "p.methods")
                .unwrap_err()
                .path,
            "p.methods[1]"
        );
    }
}
