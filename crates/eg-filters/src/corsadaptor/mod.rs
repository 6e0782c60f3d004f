//! The `CORSAdaptor` filter: CORS preflight and simple requests.
//!
//! Behaves as Easegress, which runs `rs/cors` (v1.11) on the request and copies what it
//! wrote into the response of the active namespace:
//!
//! - A request without `Origin` is not a CORS request: nothing happens, result `""`.
//! - A preflight (`OPTIONS` with `Access-Control-Request-Method`) always gets
//!   `Vary: Origin, Access-Control-Request-Method, Access-Control-Request-Headers`; when the
//!   origin, the requested method and the requested headers are allowed it also gets
//!   `Access-Control-Allow-Origin`, `-Allow-Methods` (the requested method),
//!   `-Allow-Headers` (the requested headers), `-Allow-Credentials` and `-Max-Age`. Result
//!   `preflighted`, allowed or not (the browser decides from the headers); a new response
//!   has status 204.
//! - Any other request gets `Vary: Origin`, and when origin and method are allowed
//!   `Access-Control-Allow-Origin`, `-Expose-Headers` and `-Allow-Credentials`. Without an
//!   allow-origin header the result is `rejected`; otherwise `""` and the flow goes on.
//!
//! The headers go on the existing response (`Vary` appended, others replaced) or on a new
//! one (status 200 for simple requests). A Proxy later in the flow merges the upstream
//! response into it, replacing `Access-Control-*` headers and appending the others, so
//! the CORS headers reach the client unless the upstream sends its own.

mod spec;
#[cfg(test)]
mod tests;

use std::any::Any;

use eg_protocols::{Context, HttpResponse};
use eg_spec::SpecError;
use http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE,
    ACCESS_CONTROL_REQUEST_HEADERS, ACCESS_CONTROL_REQUEST_METHOD, ORIGIN, VARY,
};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};

use crate::filter::{BuildContext, Built, Filter, FilterSpec, Handled};
use crate::registry::FilterKind;
use crate::spec::decode_filter_spec;

pub use spec::CorsSpec;

/// The kind name.
pub const KIND_NAME: &str = "CORSAdaptor";
/// Returned for every preflight request.
pub const RESULT_PREFLIGHTED: &str = "preflighted";
/// Returned when a (non-preflight) request's origin or method is not allowed.
pub const RESULT_REJECTED: &str = "rejected";

/// Status of a preflight answer made by this filter (rs/cors's default).
const PREFLIGHT_STATUS: StatusCode = StatusCode::NO_CONTENT;
/// `Vary` of preflight answers.
const PREFLIGHT_VARY: &str =
    "Origin, Access-Control-Request-Method, Access-Control-Request-Headers";
/// `Vary` of other answers.
const ACTUAL_VARY: &str = "Origin";

/// The `CORSAdaptor` filter kind.
pub const KIND: FilterKind = FilterKind::new(
    KIND_NAME,
    "CORSAdaptor adapts CORS stuff.",
    &[RESULT_PREFLIGHTED, RESULT_REJECTED],
    spec::default_spec,
    build,
)
.with_schema(crate::spec_schema::<CorsSpec>);

fn build(spec: &FilterSpec, _: &BuildContext<'_>) -> Result<Built, SpecError> {
    let (s, warnings) = decode_filter_spec::<CorsSpec>(spec)?.into_parts();
    Ok(Built::new(s.compile(&spec.path)?, warnings))
}

/// An allowed origin with one `*`: a prefix and a suffix.
#[derive(Debug)]
struct Wildcard {
    prefix: String,
    suffix: String,
}

impl Wildcard {
    fn matches(&self, origin: &str) -> bool {
        origin.len() >= self.prefix.len() + self.suffix.len()
            && origin.starts_with(&self.prefix)
            && origin.ends_with(&self.suffix)
    }
}

/// The running filter.
#[derive(Debug)]
pub struct CorsAdaptor {
    /// `*` (or no list): every origin.
    origins_all: bool,
    /// Exact origins, lower case.
    origins: Box<[String]>,
    wildcards: Box<[Wildcard]>,
    methods: Box<[Method]>,
    /// `*`: every requested header.
    headers_all: bool,
    /// Allowed request headers, lower case.
    headers: Box<[String]>,
    allow_credentials: bool,
    exposed: Option<HeaderValue>,
    max_age: Option<HeaderValue>,
}

impl CorsAdaptor {
    fn origin_allowed(&self, origin: &str) -> bool {
        if self.origins_all {
            return true;
        }
        let origin = origin.to_ascii_lowercase();
        self.origins.contains(&origin) || self.wildcards.iter().any(|w| w.matches(&origin))
    }

    /// `OPTIONS` is always allowed (it is what preflights use).
    fn method_allowed(&self, method: &[u8]) -> bool {
        method == b"OPTIONS" || self.methods.iter().any(|m| m.as_str().as_bytes() == method)
    }

    /// Every name listed in the `Access-Control-Request-Headers` values must be allowed
    /// (in any case and order; browsers send them lower case and sorted).
    fn headers_allowed(&self, requested: &HeaderMap) -> bool {
        if self.headers_all {
            return true;
        }
        requested
            .get_all(ACCESS_CONTROL_REQUEST_HEADERS)
            .iter()
            .all(|v| match v.to_str() {
                Ok(list) => list
                    .split(',')
                    .map(str::trim)
                    .filter(|n| !n.is_empty())
                    .all(|n| self.headers.iter().any(|h| h.eq_ignore_ascii_case(n))),
                Err(_) => false,
            })
    }

    fn allow_origin(&self, origin: &HeaderValue) -> HeaderValue {
        if self.origins_all {
            HeaderValue::from_static("*")
        } else {
            origin.clone()
        }
    }

    /// The headers of a preflight answer.
    fn preflight(
        &self,
        req: &HeaderMap,
        origin: &HeaderValue,
        out: &mut Vec<(HeaderName, HeaderValue)>,
    ) {
        out.push((VARY, HeaderValue::from_static(PREFLIGHT_VARY)));
        let Some(method) = req.get(ACCESS_CONTROL_REQUEST_METHOD) else {
            return;
        };
        if !self.origin_allowed(origin.to_str().unwrap_or(""))
            || !self.method_allowed(method.as_bytes())
            || !self.headers_allowed(req)
        {
            return;
        }
        out.push((ACCESS_CONTROL_ALLOW_ORIGIN, self.allow_origin(origin)));
        out.push((ACCESS_CONTROL_ALLOW_METHODS, method.clone()));
        let mut requested = req
            .get_all(ACCESS_CONTROL_REQUEST_HEADERS)
            .iter()
            .peekable();
        if requested.peek().is_some_and(|first| !first.is_empty()) {
            for h in requested {
                out.push((ACCESS_CONTROL_ALLOW_HEADERS, h.clone()));
            }
        }
        if self.allow_credentials {
            out.push((
                ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            ));
        }
        if let Some(age) = &self.max_age {
            out.push((ACCESS_CONTROL_MAX_AGE, age.clone()));
        }
    }

    /// The headers of any other answer.
    fn actual(
        &self,
        method: &Method,
        origin: &HeaderValue,
        out: &mut Vec<(HeaderName, HeaderValue)>,
    ) {
        out.push((VARY, HeaderValue::from_static(ACTUAL_VARY)));
        if !self.origin_allowed(origin.to_str().unwrap_or(""))
            || !self.method_allowed(method.as_str().as_bytes())
        {
            return;
        }
        out.push((ACCESS_CONTROL_ALLOW_ORIGIN, self.allow_origin(origin)));
        if let Some(e) = &self.exposed {
            out.push((ACCESS_CONTROL_EXPOSE_HEADERS, e.clone()));
        }
        if self.allow_credentials {
            out.push((
                ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            ));
        }
    }
}

/// Writes `headers` on the response of the active namespace: on a new one with `status`,
/// or merged into the existing one (`Vary` appended, the others replaced).
fn write(ctx: &mut Context, headers: Vec<(HeaderName, HeaderValue)>, status: StatusCode) {
    match ctx.response_mut() {
        Some(resp) => {
            let mut replaced: Vec<HeaderName> = Vec::new();
            for (name, value) in headers {
                if name == VARY || replaced.contains(&name) {
                    resp.headers.append(name, value);
                } else {
                    resp.headers.insert(name.clone(), value);
                    replaced.push(name);
                }
            }
        }
        None => {
            let mut resp = HttpResponse::new(status);
            for (name, value) in headers {
                resp.headers.append(name, value);
            }
            ctx.set_response(resp);
        }
    }
}

impl Filter for CorsAdaptor {
    fn handle<'a>(&'a self, ctx: &'a mut Context) -> Handled<'a> {
        let Some(req) = ctx.request() else {
            return Handled::Done("");
        };
        let Some(origin) = req.headers().get(ORIGIN).filter(|o| !o.is_empty()) else {
            return Handled::Done(""); // not a CORS request
        };
        let preflight = req.method() == Method::OPTIONS
            && req
                .headers()
                .get(ACCESS_CONTROL_REQUEST_METHOD)
                .is_some_and(|m| !m.is_empty());
        let mut headers = Vec::with_capacity(6);
        if preflight {
            self.preflight(req.headers(), origin, &mut headers);
            write(ctx, headers, PREFLIGHT_STATUS);
            return Handled::Done(RESULT_PREFLIGHTED);
        }
        self.actual(req.method(), origin, &mut headers);
        let allowed = headers
            .iter()
            .any(|(n, _)| *n == ACCESS_CONTROL_ALLOW_ORIGIN);
        write(ctx, headers, StatusCode::OK);
        Handled::Done(if allowed { "" } else { RESULT_REJECTED })
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
