//! The `RedirectorV2` filter: the Gateway API's `HTTPRequestRedirectFilter`.
//!
//! The redirect target is the request's URL (scheme of the connection, `Host`, path and
//! query) with `scheme`, `hostname` and `path` replaced where set. `path` replaces the whole
//! path (`ReplaceFullPath`) or the `pathPrefix` of the HTTPServer path that routed the
//! request (`ReplacePrefixMatch`; nothing changes when that path has no prefix). When the
//! target differs from the request's URL, the response of the active namespace is replaced
//! by a redirect (`statusCode`, 302 by default, `Location` = the target, the status text as
//! the body) and the filter returns `redirected`; otherwise `""`. `port` is checked but not
//! used, as in Easegress: a port goes into `hostname`.

#[cfg(test)]
mod tests;

use std::any::Any;

use eg_protocols::Context;
use eg_spec::error::join_path;
use eg_spec::SpecError;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::filter::{BuildContext, Built, Filter, FilterSpec, Handled};
use crate::redirect::Redirect;
use crate::registry::FilterKind;
use crate::spec::decode_filter_spec;

/// The kind name.
pub const KIND_NAME: &str = "RedirectorV2";
/// Returned when the request was redirected.
pub const RESULT_REDIRECTED: &str = "redirected";
/// Default `statusCode`.
pub const DEFAULT_STATUS_CODE: u16 = 302;
/// `path.type` replacing the whole path.
pub const FULL_PATH: &str = "ReplaceFullPath";
/// `path.type` replacing the route's path prefix.
pub const PREFIX_MATCH: &str = "ReplacePrefixMatch";

/// The `RedirectorV2` filter kind.
pub const KIND: FilterKind = FilterKind::new(
    KIND_NAME,
    "Redirector redirect HTTP requests.",
    &[RESULT_REDIRECTED],
    default_spec,
    build,
)
.with_schema(crate::spec_schema::<RedirectorV2Spec>);

/// `RedirectorV2` fields (the Gateway API's `HTTPRequestRedirectFilter`).
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RedirectorV2Spec {
    /// `http` or `https`. Default: the request's scheme.
    #[serde(default)]
    pub scheme: Option<String>,
    /// The host of the target, with an optional `:port`. Default: the request's `Host`.
    #[serde(default)]
    pub hostname: Option<String>,
    /// 1-65535; checked but not used (as in Easegress): put the port in `hostname`.
    #[serde(default)]
    pub port: Option<i64>,
    /// How the path changes. Default: unchanged.
    #[serde(default)]
    pub path: Option<PathModifier>,
    /// 301, 302 (default), 303, 304, 307 or 308.
    #[serde(default)]
    pub status_code: Option<i64>,
}

/// `path`: the Gateway API's `HTTPPathModifier`.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PathModifier {
    /// `ReplaceFullPath` or `ReplacePrefixMatch`. Required.
    #[serde(default, rename = "type")]
    pub kind: String,
    /// The new path, for `ReplaceFullPath`.
    #[serde(default)]
    pub replace_full_path: Option<String>,
    /// What replaces the route's `pathPrefix`, for `ReplacePrefixMatch`.
    #[serde(default)]
    pub replace_prefix_match: Option<String>,
}

fn default_spec() -> Value {
    json!({})
}

/// The compiled path change (paths escaped as they go into the URL).
#[derive(Debug, Clone)]
enum PathChange {
    Full(String),
    Prefix(String),
}

/// The running filter.
#[derive(Debug)]
pub struct RedirectorV2 {
    scheme: Option<String>,
    hostname: Option<String>,
    path: Option<PathChange>,
    redirect: Redirect,
}

fn build(spec: &FilterSpec, _: &BuildContext<'_>) -> Result<Built, SpecError> {
    let (s, mut warnings) = decode_filter_spec::<RedirectorV2Spec>(spec)?.into_parts();
    let f = RedirectorV2::compile(&s, &spec.path)?;
    if s.port.is_some() {
        warnings.push(format!(
            "{}: ignored, as in Easegress: write the port in hostname",
            join_path(&spec.path, "port")
        ));
    }
    Ok(Built::new(f, warnings))
}

/// Escapes `path` as Go's URL encoder does for a path: unreserved characters and
/// `$&+,/:;=@` are kept, every other byte is `%XX`.
pub(crate) fn escape_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~$&+,/:;=@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl RedirectorV2 {
    /// Checks and compiles `s`; errors name fields under `path`.
    pub fn compile(s: &RedirectorV2Spec, path: &str) -> Result<RedirectorV2, SpecError> {
        if let Some(scheme) = &s.scheme {
            if scheme != "http" && scheme != "https" {
                return Err(SpecError::new(
                    join_path(path, "scheme"),
                    format!("{scheme:?} is not supported: only http and https"),
                ));
            }
        }
        if let Some(host) = &s.hostname {
            let ok = !host.is_empty()
                && !host.contains(['/', '?', '#', '@'])
                && host.parse::<http::uri::Authority>().is_ok();
            if !ok {
                return Err(SpecError::new(
                    join_path(path, "hostname"),
                    format!("{host:?} is not a host name (with an optional :port)"),
                ));
            }
        }
        if let Some(port) = s.port {
            if !(1..=65535).contains(&port) {
                return Err(SpecError::new(
                    join_path(path, "port"),
                    format!("{port} is not a port: use 1-65535"),
                ));
            }
        }
        let redirect = Redirect::compile(s.status_code, DEFAULT_STATUS_CODE, path)?;
        let change = match &s.path {
            None => None,
            Some(p) => {
                let at = join_path(path, "path");
                let (value, field) = match p.kind.as_str() {
                    FULL_PATH => (&p.replace_full_path, "replaceFullPath"),
                    PREFIX_MATCH => (&p.replace_prefix_match, "replacePrefixMatch"),
                    other => {
                        return Err(SpecError::new(
                            join_path(&at, "type"),
                            format!("{other:?} is not one of {FULL_PATH}, {PREFIX_MATCH}"),
                        ))
                    }
                };
                let Some(value) = value else {
                    return Err(SpecError::new(
                        join_path(&at, field),
                        format!("required for type {}", p.kind),
                    ));
                };
                let escaped = escape_path(value);
                Some(if p.kind == FULL_PATH {
                    PathChange::Full(escaped)
                } else {
                    PathChange::Prefix(escaped)
                })
            }
        };
        Ok(RedirectorV2 {
            scheme: s.scheme.clone(),
            hostname: s.hostname.clone(),
            path: change,
            redirect,
        })
    }

    /// The redirect target for `req` routed by a path with prefix `prefix`, and whether it
    /// differs from the request's URL.
    fn target(&self, req: &eg_protocols::HttpRequest, prefix: Option<&str>) -> (String, bool) {
        let uri = req.uri();
        let req_scheme = match uri.scheme_str() {
            Some(s) => s,
            None if req.over_tls() => "https",
            None => "http",
        };
        let req_host = req.host_with_port();
        let req_path = req.path();
        let scheme = self.scheme.as_deref().unwrap_or(req_scheme);
        let host = self.hostname.as_deref().unwrap_or(req_host);
        let path = match (&self.path, prefix) {
            (Some(PathChange::Full(p)), _) => p.as_str().into(),
            (Some(PathChange::Prefix(repl)), Some(prefix)) if req_path.starts_with(prefix) => {
                std::borrow::Cow::Owned(format!("{repl}{}", &req_path[prefix.len()..]))
            }
            _ => req_path.into(),
        };
        let changed = scheme != req_scheme || host != req_host || path != req_path;
        let mut target = format!("{scheme}://{host}{path}");
        if let Some(q) = uri.query() {
            target.push('?');
            target.push_str(q);
        }
        (target, changed)
    }
}

impl Filter for RedirectorV2 {
    fn handle<'a>(&'a self, ctx: &'a mut Context) -> Handled<'a> {
        let Some(req) = ctx.request() else {
            return Handled::Done("");
        };
        let (location, changed) = self.target(req, ctx.route_path_prefix.as_deref());
        if !changed {
            return Handled::Done("");
        }
        let Some(resp) = self.redirect.response(&location) else {
            return Handled::Done("");
        };
        ctx.set_response(resp);
        Handled::Done(RESULT_REDIRECTED)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
