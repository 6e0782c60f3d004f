//! The `OPAFilter` filter: an Open Policy Agent (Rego) decision per request.
//!
//! The `policy` (Rego, package `http`) is compiled when the filter is built. For each
//! request the filter evaluates `data.http.allow` with the request as `input` (see
//! [`input`] for the document) and:
//!
//! - `true`: the request goes on (result `""`);
//! - `false`: the response gets status `defaultStatus` (403 by default) and the result is
//!   `opaDenied`;
//! - undefined, not a boolean, or an evaluation error: the response gets status
//!   `defaultStatus`, header `x-eg-opa-error: true` and the error message as its body, and
//!   the result is `opaDenied`.
//!
//! As in Easegress, the response of the active namespace is created (empty, 200) when there
//! is none, whatever the decision; an existing one is kept and only its status changes.
//!
//! With `readBody`, the request body is given to the policy as text. A body the server has
//! already read (any route but `clientMaxBodySize: -1`) is used as it is; a streamed body
//! is read into memory up to 4 MiB ([`BODY_BUFFER_LIMIT`]) and kept for the next filters;
//! a larger stream stays a stream and the policy sees `""`, as Easegress gives it for any
//! stream.

mod input;
mod policy;
#[cfg(test)]
mod tests;

use std::any::Any;
use std::borrow::Cow;

use bytes::Bytes;
use eg_protocols::{Context, HttpResponse};
use eg_spec::error::join_path;
use eg_spec::SpecError;
use http::{HeaderName, HeaderValue, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::adapt::replace_body;
use crate::filter::{BuildContext, Built, Filter, FilterSpec, Handled, RESULT_OK};
use crate::registry::FilterKind;
use crate::spec::{decode_filter_spec, header_name, status_code};
use crate::template::{buffer_within, canonical_key, BODY_BUFFER_LIMIT};

pub use input::IncludedHeader;
pub use policy::{Decision, Policy, ALLOW_RULE, ERR_INVALID_TYPE, ERR_NO_RESULT};

/// The kind name.
pub const KIND_NAME: &str = "OPAFilter";
/// Returned when the policy denies the request or gives no decision.
pub const RESULT_OPA_DENIED: &str = "opaDenied";
/// The status of a denied request when `defaultStatus` is not set.
pub const DEFAULT_STATUS: StatusCode = StatusCode::FORBIDDEN;
/// The response header marking a response whose policy gave no decision.
pub const OPA_ERROR_HEADER: HeaderName = HeaderName::from_static("x-eg-opa-error");
/// The value of [`OPA_ERROR_HEADER`].
const OPA_ERROR_VALUE: HeaderValue = HeaderValue::from_static("true");
/// The decision message when there is no request in the active namespace.
const ERR_NO_REQUEST: &str = "no request in the active namespace";

/// The `OPAFilter` filter kind.
pub const KIND: FilterKind = FilterKind::new(
    KIND_NAME,
    "OPAFilter implement OpenPolicyAgent function",
    &[RESULT_OPA_DENIED],
    default_spec,
    build,
)
.with_schema(crate::spec_schema::<OpaFilterSpec>);

/// `OPAFilter` fields.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OpaFilterSpec {
    /// The status of a denied request, 100-599. Default (or 0): 403.
    #[serde(default)]
    pub default_status: i64,
    /// Names of the request headers the policy sees in `input.request.headers`,
    /// comma-separated (spaces are ignored). Default: none.
    #[serde(default)]
    pub included_headers: String,
    /// Whether the policy sees the request body in `input.request.body`. Default: false.
    #[serde(default)]
    pub read_body: bool,
    /// The policy, in Rego; its decision is `data.http.allow`. Required.
    #[serde(default)]
    pub policy: String,
}

fn default_spec() -> Value {
    json!({ "defaultStatus": DEFAULT_STATUS.as_u16() })
}

fn build(spec: &FilterSpec, _: &BuildContext<'_>) -> Result<Built, SpecError> {
    let (s, mut warnings) = decode_filter_spec::<OpaFilterSpec>(spec)?.into_parts();
    let filter = OpaFilter::compile(&s, &spec.path)?;
    if !filter.policy.declares_allow() {
        warnings.push(format!(
            "{}: the policy does not declare {ALLOW_RULE}: every request will be denied",
            join_path(&spec.path, "policy")
        ));
    }
    Ok(Built::new(filter, warnings))
}

/// The running filter.
pub struct OpaFilter {
    policy: Policy,
    status: StatusCode,
    included: Box<[IncludedHeader]>,
    read_body: bool,
}

impl OpaFilter {
    /// Checks and compiles `s`; errors name fields under `path`.
    pub fn compile(s: &OpaFilterSpec, path: &str) -> Result<OpaFilter, SpecError> {
        let status = match s.default_status {
            0 => DEFAULT_STATUS,
            code => status_code(code, &join_path(path, "defaultStatus"))?,
        };
        let at = join_path(path, "includedHeaders");
        let mut included = Vec::new();
        for raw in s.included_headers.split(',') {
            let scrubbed = raw.replace(' ', "");
            if scrubbed.is_empty() {
                continue;
            }
            let name = header_name(&scrubbed, &at)?;
            if included.iter().any(|h: &IncludedHeader| h.name == name) {
                continue;
            }
            let key = canonical_key(&scrubbed).into_owned();
            included.push(IncludedHeader { name, key });
        }
        let at = join_path(path, "policy");
        if s.policy.trim().is_empty() {
            return Err(SpecError::new(at, "required: a Rego policy"));
        }
        let policy = Policy::compile(&s.policy)
            .map_err(|e| SpecError::new(at, format!("invalid Rego policy: {e}")))?;
        Ok(OpaFilter {
            policy,
            status,
            included: included.into_boxed_slice(),
            read_body: s.read_body,
        })
    }

    /// Evaluates the policy for the request of the active namespace; its body counts
    /// with `readBody` when it is in memory.
    fn evaluate(&self, ctx: &Context) -> Decision {
        let Some(req) = ctx.request() else {
            return Decision::Error(ERR_NO_REQUEST.to_string());
        };
        let body = match req.body.bytes() {
            Some(b) if self.read_body => String::from_utf8_lossy(b),
            _ => Cow::Borrowed(""),
        };
        let input = input::document(req, ctx.real_ip, &self.included, &body);
        self.policy.evaluate(input)
    }

    /// Applies `decision` to the response of the active namespace (made when missing).
    fn answer(&self, ctx: &mut Context, decision: Decision) -> &'static str {
        if ctx.response().is_none() {
            ctx.set_response(HttpResponse::new(StatusCode::OK));
        }
        let Some(resp) = ctx.response_mut() else {
            return RESULT_OPA_DENIED;
        };
        match decision {
            Decision::Allow => RESULT_OK,
            Decision::Deny => {
                resp.status = self.status;
                RESULT_OPA_DENIED
            }
            Decision::Error(message) => {
                tracing::debug!(error = %message, "OPAFilter: no decision");
                resp.headers.insert(OPA_ERROR_HEADER, OPA_ERROR_VALUE);
                resp.status = self.status;
                replace_body(&mut resp.headers, &mut resp.body, Bytes::from(message));
                RESULT_OPA_DENIED
            }
        }
    }
}

impl Filter for OpaFilter {
    fn handle<'a>(&'a self, ctx: &'a mut Context) -> Handled<'a> {
        if !self.read_body || ctx.request().is_none_or(|r| r.body.is_buffered()) {
            let decision = self.evaluate(ctx);
            return Handled::Done(self.answer(ctx, decision));
        }
        Handled::Pending(Box::pin(async move {
            if let Some(req) = ctx.request_mut() {
                match buffer_within(&mut req.body, BODY_BUFFER_LIMIT).await {
                    Ok(true) => {}
                    Ok(false) => tracing::debug!(
                        limit = BODY_BUFFER_LIMIT,
                        "OPAFilter: streamed body over the limit, the policy sees no body"
                    ),
                    Err(e) => {
                        let message = format!("reading the request body failed: {e}");
                        return self.answer(ctx, Decision::Error(message));
                    }
                }
            }
            let decision = self.evaluate(ctx);
            self.answer(ctx, decision)
        }))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
