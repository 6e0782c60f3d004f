//! Route search: the matchers every router shares, and the two router kinds.
//!
//! A router is compiled from the spec's rules once per configuration. Searching takes the
//! parts of a request it needs ([`RouteRequest`]) and returns the index of the matched path
//! plus what went wrong with the candidates, which decides the failure status
//! (403 > 400 > 405 > 404, as Easegress).

pub(crate) mod matchers;
pub(crate) mod ordered;
pub(crate) mod radix;

use std::net::IpAddr;

use eg_spec::{IpFilter, SpecError};
use http::{HeaderMap, Method, StatusCode};
use regex::Regex;
use smallvec::SmallVec;

use self::matchers::{Hosts, MethodSet, ValueMatchers};
use super::spec::{generated_pipeline_name, PathSpec, RuleSpec, ROUTER_RADIX_TREE};

/// What a router needs to know about a request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RouteRequest<'a> {
    /// Host without port.
    pub host: &'a str,
    /// Path, as received (still escaped).
    pub path: &'a str,
    /// Method.
    pub method: &'a Method,
    /// Headers.
    pub headers: &'a HeaderMap,
    /// Raw query string.
    pub query: &'a str,
    /// Client IP.
    pub ip: IpAddr,
}

/// Captured path parameters of a RadixTree match, in pattern order.
pub(crate) type Params<'a> = SmallVec<[&'a str; 4]>;

/// The outcome of a search.
#[derive(Debug, Default)]
pub(crate) struct Search<'a> {
    /// Index of the matched route in [`Router::routes`].
    pub route: Option<usize>,
    /// Captured RadixTree parameters of the matched route.
    pub params: Params<'a>,
    /// Some candidate was refused by an IP filter.
    pub ip_mismatch: bool,
    /// Some candidate's header conditions failed.
    pub header_mismatch: bool,
    /// Some candidate's query conditions failed.
    pub query_mismatch: bool,
    /// Some candidate's methods did not include the request's.
    pub method_mismatch: bool,
    /// The decision depends on more than host, method and path (headers, queries or IP
    /// filters were consulted, or RadixTree parameters captured), so it is not cached.
    pub uncacheable: bool,
}

impl Search<'_> {
    /// The failure status when nothing matched: 403, 400, 405 or 404.
    pub fn failure_status(&self) -> StatusCode {
        if self.ip_mismatch {
            StatusCode::FORBIDDEN
        } else if self.header_mismatch || self.query_mismatch {
            StatusCode::BAD_REQUEST
        } else if self.method_mismatch {
            StatusCode::METHOD_NOT_ALLOWED
        } else {
            StatusCode::NOT_FOUND
        }
    }
}

/// How the path of a matched request is rewritten.
#[derive(Debug)]
pub(crate) enum Rewrite {
    /// No rewrite.
    None,
    /// Ordered router: exact → replace, prefix → replace the prefix, regexp → replace-all.
    Ordered(String),
    /// RadixTree router: a fixed path or a template of literals and captured parameters.
    Template(Vec<TemplatePart>),
}

/// A piece of a RadixTree rewrite template.
#[derive(Debug, PartialEq)]
pub(crate) enum TemplatePart {
    /// Literal text.
    Lit(String),
    /// The value of the parameter at this index of the route's parameters.
    Param(usize),
}

/// A compiled path of a rule: conditions besides the path itself, and where it goes.
#[derive(Debug)]
pub(crate) struct Route {
    /// `rules[i]`.
    pub rule_index: usize,
    /// `paths[j]`.
    pub path_index: usize,
    /// The pipeline name (generated for `backendPool`).
    pub backend: String,
    /// Exact path (Ordered), or the RadixTree pattern.
    pub exact: Option<String>,
    /// Path prefix (Ordered).
    pub prefix: Option<String>,
    /// Path regexp (Ordered).
    pub regexp: Option<Regex>,
    /// Allowed methods.
    pub methods: MethodSet,
    /// Header conditions.
    pub headers: Option<ValueMatchers>,
    /// Query conditions.
    pub queries: Option<ValueMatchers>,
    /// Path IP filter.
    pub ip_filter: Option<IpFilter>,
    /// Rewrite.
    pub rewrite: Rewrite,
    /// Body limit for this path; 0 = the server's.
    pub client_max_body_size: i64,
    /// No header, query or IP condition on this path or its rule.
    pub cacheable: bool,
    /// Text identifying the path in statistics (`/api/*`, `^/user/[0-9]+$`, ...).
    pub pattern: String,
    /// `setHeaders`, when the path has any.
    pub set_headers: Option<Box<super::setheaders::SetHeaders>>,
}

impl Route {
    /// Checks methods, headers, queries and the IP filter, recording what failed.
    pub fn accepts(&self, req: &RouteRequest<'_>, s: &mut Search<'_>) -> bool {
        if !self.cacheable {
            s.uncacheable = true;
        }
        if !self.methods.contains(req.method) {
            s.method_mismatch = true;
            return false;
        }
        if let Some(h) = &self.headers {
            if !h.match_headers(req.headers) {
                s.header_mismatch = true;
                return false;
            }
        }
        if let Some(q) = &self.queries {
            if !q.match_query(req.query) {
                s.query_mismatch = true;
                return false;
            }
        }
        if let Some(f) = &self.ip_filter {
            if !f.allows(req.ip) {
                s.ip_mismatch = true;
                return false;
            }
        }
        true
    }

    /// The rewritten path for `path` (the request path that matched), if this route
    /// rewrites.
    pub fn rewritten_path(&self, path: &str, params: &[&str]) -> Option<String> {
        match &self.rewrite {
            Rewrite::None => None,
            Rewrite::Ordered(target) => {
                if self.exact.as_deref() == Some(path) {
                    return Some(target.clone());
                }
                if let Some(p) = &self.prefix {
                    if let Some(rest) = path.strip_prefix(p.as_str()) {
                        return Some(format!("{target}{rest}"));
                    }
                }
                self.regexp
                    .as_ref()
                    .map(|re| re.replace_all(path, target.as_str()).into_owned())
            }
            Rewrite::Template(parts) => {
                let mut out = String::with_capacity(path.len());
                for p in parts {
                    match p {
                        TemplatePart::Lit(s) => out.push_str(s),
                        TemplatePart::Param(i) => {
                            out.push_str(params.get(*i).copied().unwrap_or(""))
                        }
                    }
                }
                Some(out)
            }
        }
    }
}

/// A rule: hosts, IP filter and the indexes of its routes.
#[derive(Debug)]
pub(crate) struct Rule {
    /// Host conditions (empty = any).
    pub hosts: Hosts,
    /// Rule IP filter.
    pub ip_filter: Option<IpFilter>,
}

impl Rule {
    /// Host and IP checks shared by both routers; `None` means skip the rule.
    pub fn admits(&self, req: &RouteRequest<'_>, s: &mut Search<'_>) -> bool {
        if !self.hosts.matches(req.host) {
            return false;
        }
        if let Some(f) = &self.ip_filter {
            s.uncacheable = true;
            if !f.allows(req.ip) {
                s.ip_mismatch = true;
                return false;
            }
        }
        true
    }
}

/// A compiled router of either kind.
#[derive(Debug)]
pub(crate) enum RouterImpl {
    /// Rules and paths in order.
    Ordered(ordered::OrderedRouter),
    /// Per-rule radix trees.
    RadixTree(radix::RadixRouter),
}

/// The routing table: rules, their routes, and the search structure.
#[derive(Debug)]
pub(crate) struct Router {
    /// Every path of every rule, in spec order.
    pub routes: Vec<Route>,
    /// `Ordered` or `RadixTree`.
    pub kind: &'static str,
    imp: RouterImpl,
}

impl Router {
    /// Compiles `rules`; errors name the field (`rules[0].paths[1].pathRegexp: ...`).
    pub fn compile(
        server: &str,
        router_kind: &str,
        rules: &[RuleSpec],
    ) -> Result<Router, SpecError> {
        let radix = router_kind == ROUTER_RADIX_TREE;
        let mut routes = Vec::new();
        let mut compiled_rules = Vec::with_capacity(rules.len());
        for (ri, rule) in rules.iter().enumerate() {
            let rpath = format!("rules[{ri}]");
            let hosts = Hosts::compile(rule, &rpath)?;
            let ip_filter = rule
                .ip_filter
                .as_ref()
                .map(|f| f.compile(&format!("{rpath}.ipFilter")))
                .transpose()?;
            let first = routes.len();
            for (pi, p) in rule.paths.iter().enumerate() {
                let ppath = format!("{rpath}.paths[{pi}]");
                routes.push(compile_path(
                    server,
                    ri,
                    pi,
                    p,
                    &ppath,
                    radix,
                    ip_filter.is_some(),
                )?);
            }
            compiled_rules.push((Rule { hosts, ip_filter }, first..routes.len()));
        }
        let (kind, imp) = if radix {
            (
                ROUTER_RADIX_TREE,
                RouterImpl::RadixTree(radix::RadixRouter::build(compiled_rules, &routes, rules)?),
            )
        } else {
            (
                super::spec::ROUTER_ORDERED,
                RouterImpl::Ordered(ordered::OrderedRouter::new(compiled_rules, &routes)),
            )
        };
        Ok(Router { routes, kind, imp })
    }

    /// Finds the route for `req`.
    pub fn search<'a>(&self, req: &RouteRequest<'a>) -> Search<'a> {
        let mut s = Search::default();
        match &self.imp {
            RouterImpl::Ordered(o) => o.search(&self.routes, req, &mut s),
            RouterImpl::RadixTree(r) => r.search(&self.routes, req, &mut s),
        }
        s
    }
}

fn compile_path(
    server: &str,
    ri: usize,
    pi: usize,
    p: &PathSpec,
    ppath: &str,
    radix: bool,
    rule_has_ip_filter: bool,
) -> Result<Route, SpecError> {
    for (field, v) in [("path", &p.path), ("pathPrefix", &p.path_prefix)] {
        if !v.is_empty() && !v.starts_with('/') {
            return Err(SpecError::new(
                format!("{ppath}.{field}"),
                format!("{v:?} must start with '/'"),
            ));
        }
    }
    let regexp = if p.path_regexp.is_empty() {
        None
    } else {
        Some(Regex::new(&p.path_regexp).map_err(|e| {
            SpecError::new(
                format!("{ppath}.pathRegexp"),
                format!("invalid regexp {:?}: {e}", p.path_regexp),
            )
        })?)
    };
    let no_path = p.path.is_empty() && p.path_prefix.is_empty() && p.path_regexp.is_empty();
    if !p.rewrite_target.is_empty() && no_path {
        return Err(SpecError::new(
            format!("{ppath}.rewriteTarget"),
            "rewriteTarget is specified but path, pathPrefix and pathRegexp are all empty",
        ));
    }
    let has_pool = p.backend_pool.as_ref().is_some_and(|v| !v.is_null());
    if p.backend.is_empty() && !has_pool {
        return Err(SpecError::new(
            ppath,
            "either backend or backendPool must be specified",
        ));
    }
    if radix && p.path.is_empty() {
        return Err(SpecError::new(
            format!("{ppath}.path"),
            "the RadixTree router matches only `path` patterns; set path (pathPrefix and pathRegexp are not used by it)",
        ));
    }
    let methods = MethodSet::compile(&p.methods, &format!("{ppath}.methods"))?;
    let headers =
        ValueMatchers::compile(&p.headers, p.match_all_header, &format!("{ppath}.headers"))?;
    let queries =
        ValueMatchers::compile(&p.queries, p.match_all_query, &format!("{ppath}.queries"))?;
    let ip_filter = p
        .ip_filter
        .as_ref()
        .map(|f| f.compile(&format!("{ppath}.ipFilter")))
        .transpose()?;
    if p.client_max_body_size < STREAM_BODY_MIN {
        return Err(SpecError::new(
            format!("{ppath}.clientMaxBodySize"),
            "must be -1 (stream), 0 (the server's limit) or a positive size",
        ));
    }
    let backend = if p.backend.is_empty() {
        generated_pipeline_name(server, ri, pi)
    } else {
        p.backend.clone()
    };
    let rewrite = if p.rewrite_target.is_empty() {
        Rewrite::None
    } else if radix {
        Rewrite::Template(radix::compile_rewrite(
            &p.path,
            &p.rewrite_target,
            &format!("{ppath}.rewriteTarget"),
        )?)
    } else {
        Rewrite::Ordered(p.rewrite_target.clone())
    };
    let params = if radix {
        radix::pattern_keys(&p.path, &format!("{ppath}.path"))?
    } else {
        Vec::new()
    };
    let set_headers = super::setheaders::SetHeaders::compile(
        &p.set_headers,
        &params,
        &format!("{ppath}.setHeaders"),
    )?
    .map(Box::new);
    let cacheable =
        headers.is_none() && queries.is_none() && ip_filter.is_none() && !rule_has_ip_filter;
    let pattern = [&p.path, &p.path_prefix, &p.path_regexp]
        .into_iter()
        .find(|s| !s.is_empty())
        .cloned()
        .unwrap_or_else(|| "*".to_string());
    Ok(Route {
        rule_index: ri,
        path_index: pi,
        backend,
        exact: (!p.path.is_empty()).then(|| p.path.clone()),
        prefix: (!p.path_prefix.is_empty()).then(|| p.path_prefix.clone()),
        regexp,
        methods,
        headers,
        queries,
        ip_filter,
        rewrite,
        client_max_body_size: p.client_max_body_size,
        cacheable,
        pattern,
        set_headers,
    })
}

/// Smallest accepted `clientMaxBodySize` (-1 = stream).
const STREAM_BODY_MIN: i64 = -1;
