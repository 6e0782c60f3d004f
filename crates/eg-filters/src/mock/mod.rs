//! The `Mock` filter: canned responses by path, prefix and headers.
//!
//! Rules are tried in order; the first whose `match` fits the request of the active
//! namespace builds the response (code, headers, body), optionally after a `delay`, and the
//! filter returns `mocked`. No rule fits: `""`, the flow goes on.

mod spec;
#[cfg(test)]
mod tests;

use std::any::Any;
use std::time::Duration;

use bytes::Bytes;
use eg_protocols::{Context, HttpRequest, HttpResponse};
use eg_spec::{SpecError, StringMatcher};
use http::{HeaderName, HeaderValue, StatusCode};
use serde_json::Value;

use crate::filter::{BuildContext, Built, Filter, FilterSpec, Handled};
use crate::registry::FilterKind;
use crate::spec::decode_filter_spec;

pub use spec::{MatchSpec, MockSpec, RuleSpec};

/// The kind name.
pub const KIND_NAME: &str = "Mock";
/// Returned when a rule answered the request.
pub const RESULT_MOCKED: &str = "mocked";

/// The `Mock` filter kind.
pub const KIND: FilterKind = FilterKind::new(
    KIND_NAME,
    "Mock mocks the response.",
    &[RESULT_MOCKED],
    spec::default_spec,
    build,
)
.with_schema(crate::spec_schema::<MockSpec>);

fn build(spec: &FilterSpec, _: &BuildContext<'_>) -> Result<Built, SpecError> {
    let (decoded, warnings) = decode_filter_spec::<MockSpec>(spec)?.into_parts();
    Ok(Built::new(
        Mock {
            rules: decoded.compile(&spec.path)?,
        },
        warnings,
    ))
}

/// A compiled rule.
struct Rule {
    path: Option<String>,
    path_prefix: Option<String>,
    headers: Box<[(HeaderName, StringMatcher, bool)]>,
    match_all_headers: bool,
    code: StatusCode,
    response_headers: Box<[(HeaderName, HeaderValue)]>,
    body: Bytes,
    delay: Duration,
}

/// The running filter.
pub struct Mock {
    rules: Box<[Rule]>,
}

impl Rule {
    fn matches(&self, req: &HttpRequest) -> bool {
        self.matches_path(req.path()) && self.matches_headers(req)
    }

    fn matches_path(&self, path: &str) -> bool {
        match (&self.path, &self.path_prefix) {
            (None, None) => true,
            (exact, prefix) => {
                exact.as_deref() == Some(path)
                    || prefix.as_deref().is_some_and(|p| path.starts_with(p))
            }
        }
    }

    fn matches_headers(&self, req: &HttpRequest) -> bool {
        if self.headers.is_empty() {
            return true;
        }
        for (name, matcher, empty) in self.headers.iter() {
            let ok = header_matches(req, name, matcher, *empty);
            if ok && !self.match_all_headers {
                return true;
            }
            if !ok && self.match_all_headers {
                return false;
            }
        }
        self.match_all_headers
    }

    fn response(&self) -> HttpResponse {
        let mut resp = HttpResponse::new(self.code);
        for (k, v) in self.response_headers.iter() {
            resp.headers.insert(k.clone(), v.clone());
        }
        resp.body = eg_protocols::Body::full(self.body.clone());
        resp
    }
}

/// One header rule: an absent header matches only `empty`; otherwise any of its values
/// must satisfy the matcher (and `empty` never matches a present header).
fn header_matches(req: &HttpRequest, name: &HeaderName, m: &StringMatcher, empty: bool) -> bool {
    let mut values = req.headers().get_all(name).iter().peekable();
    if values.peek().is_none() {
        return empty;
    }
    if empty {
        return false;
    }
    values.any(|v| v.to_str().is_ok_and(|s| m.matches(s)))
}

impl Filter for Mock {
    fn handle<'a>(&'a self, ctx: &'a mut Context) -> Handled<'a> {
        let Some(req) = ctx.request() else {
            return Handled::Done("");
        };
        let Some(rule) = self.rules.iter().find(|r| r.matches(req)) else {
            return Handled::Done("");
        };
        ctx.set_response(rule.response());
        if rule.delay.is_zero() {
            return Handled::Done(RESULT_MOCKED);
        }
        let delay = rule.delay;
        Handled::Pending(Box::pin(async move {
            tokio::time::sleep(delay).await;
            RESULT_MOCKED
        }))
    }

    fn status(&self) -> Value {
        Value::Null
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
