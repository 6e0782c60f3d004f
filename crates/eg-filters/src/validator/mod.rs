//! The `Validator` filter: checks a request before it goes further.
//!
//! Implemented methods, checked in this order: `headers` (each listed header must have a
//! value in `values` or matching `regexp`; failure 400) and `jwt` (HMAC-signed tokens;
//! failure 401), `basicAuth` (`FILE` mode: htpasswd users; failure 401). The other
//! Easegress methods (`signature`, `oauth2`) are recognised and refused with "not supported yet", so a spec relying on them never runs
//! unchecked. A failing check sets its status on the response of the active namespace (an
//! existing response is kept, only its status changes; otherwise a new empty one is made),
//! adds an access-log tag saying what failed, and returns `invalid`.

mod basicauth;
mod headers;
mod jwt;
#[cfg(test)]
mod tests;

use std::any::Any;
use std::collections::BTreeMap;

use eg_protocols::{Context, HttpResponse};
use eg_spec::error::join_path;
use eg_spec::SpecError;
use http::StatusCode;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::filter::{BuildContext, Built, Filter, FilterSpec, Handled};
use crate::registry::FilterKind;
use crate::spec::decode_filter_spec;

pub use basicauth::BasicAuthSpec;
pub use headers::ValueValidatorSpec;
pub use jwt::JwtSpec;

/// The kind name.
pub const KIND_NAME: &str = "Validator";
/// Returned when a check failed.
pub const RESULT_INVALID: &str = "invalid";

/// The `Validator` filter kind.
pub const KIND: FilterKind = FilterKind::new(
    KIND_NAME,
    "Validator validates HTTP request.",
    &[RESULT_INVALID],
    default_spec,
    build,
)
.with_schema(crate::spec_schema::<ValidatorSpec>);

/// `Validator` fields. At least one method must be set.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ValidatorSpec {
    /// Header name → allowed values / regexp. All listed headers must be valid.
    #[serde(default)]
    pub headers: Option<BTreeMap<String, ValueValidatorSpec>>,
    /// JWT check (HMAC algorithms). Failure: 401.
    #[serde(default)]
    pub jwt: Option<JwtSpec>,
    /// Signature check (not supported yet: refused).
    #[serde(default)]
    pub signature: Option<Value>,
    /// OAuth2 check (not supported yet: refused).
    #[serde(default)]
    pub oauth2: Option<Value>,
    /// Basic auth check (`FILE` mode). Failure: 401.
    #[serde(default)]
    pub basic_auth: Option<BasicAuthSpec>,
}

fn default_spec() -> Value {
    json!({})
}

/// Methods Easegress has that this build refuses, with their spec keys.
const UNSUPPORTED: [&str; 2] = ["signature", "oauth2"];

fn build(spec: &FilterSpec, _: &BuildContext<'_>) -> Result<Built, SpecError> {
    let (s, warnings) = decode_filter_spec::<ValidatorSpec>(spec)?.into_parts();
    let given = [&s.signature, &s.oauth2];
    if s.headers.is_none()
        && s.jwt.is_none()
        && s.basic_auth.is_none()
        && given.iter().all(|g| g.is_none())
    {
        return Err(SpecError::new(
            &spec.path,
            "none of the validations are defined: set headers, jwt or basicAuth (signature and \
             oauth2 are not supported yet)",
        ));
    }
    for (key, value) in UNSUPPORTED.iter().zip(given) {
        if value.is_some() {
            return Err(SpecError::new(
                join_path(&spec.path, key),
                format!("the {key} validation is not supported yet"),
            ));
        }
    }
    let headers = match &s.headers {
        Some(h) => Some(headers::HeaderValidator::compile(
            h,
            &join_path(&spec.path, "headers"),
        )?),
        None => None,
    };
    let jwt = match &s.jwt {
        Some(j) => Some(jwt::JwtValidator::compile(
            j,
            &join_path(&spec.path, "jwt"),
        )?),
        None => None,
    };
    let basic_auth = match &s.basic_auth {
        Some(b) => Some(basicauth::BasicAuthValidator::compile(
            b,
            &join_path(&spec.path, "basicAuth"),
        )?),
        None => None,
    };
    Ok(Built::new(
        Validator {
            headers,
            jwt,
            basic_auth,
        },
        warnings,
    ))
}

/// The running filter.
pub struct Validator {
    headers: Option<headers::HeaderValidator>,
    jwt: Option<jwt::JwtValidator>,
    basic_auth: Option<basicauth::BasicAuthValidator>,
}

/// Sets `status` on the active namespace's response (made empty when there is none).
fn fail(ctx: &mut Context, status: StatusCode, tag: String) -> &'static str {
    match ctx.response_mut() {
        Some(resp) => resp.status = status,
        None => ctx.set_response(HttpResponse::new(status)),
    }
    ctx.add_tag(tag);
    RESULT_INVALID
}

impl Filter for Validator {
    fn handle<'a>(&'a self, ctx: &'a mut Context) -> Handled<'a> {
        if let Some(h) = &self.headers {
            let bad = match ctx.request() {
                Some(req) => h.first_invalid(req.headers()),
                None => h.first_name(),
            };
            if let Some(name) = bad {
                let tag = format!("header validator: header {name} is invalid");
                return Handled::Done(fail(ctx, StatusCode::BAD_REQUEST, tag));
            }
        }
        if let Some(j) = &self.jwt {
            let checked = match ctx.request() {
                Some(req) => j.validate(req),
                None => Err("no request".to_string()),
            };
            if let Err(e) = checked {
                let tag = format!("JWT validator: {e}");
                return Handled::Done(fail(ctx, StatusCode::UNAUTHORIZED, tag));
            }
        }
        if let Some(b) = &self.basic_auth {
            let checked = match ctx.request() {
                Some(req) => b.validate(req),
                None => Err("no request".to_string()),
            };
            match checked {
                Ok(user) => {
                    if let (Some(req), Ok(v)) =
                        (ctx.request_mut(), http::HeaderValue::from_str(&user))
                    {
                        req.headers_mut().insert(basicauth::AUTH_USER_HEADER, v);
                    }
                }
                Err(e) => {
                    let tag = format!("http basic validator: {e}");
                    return Handled::Done(fail(ctx, StatusCode::UNAUTHORIZED, tag));
                }
            }
        }
        Handled::Done("")
    }

    fn init(&self, _prev: Option<&dyn Filter>) {
        if let Some(b) = &self.basic_auth {
            b.start();
        }
    }

    fn close(&self) {
        if let Some(b) = &self.basic_auth {
            b.stop();
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
