//! The `Fallback` filter: overwrite an existing response.
//!
//! Meant as a `jumpIf` target after a filter that failed (a proxy returning `serverError`):
//! it replaces the status, sets the headers and the body of the response of the active
//! namespace and returns `fallback`. Without a response there is nothing to overwrite and
//! it returns `responseNotFound`.

#[cfg(test)]
mod tests;

use std::any::Any;
use std::collections::BTreeMap;

use bytes::Bytes;
use eg_protocols::{Body, Context};
use eg_spec::error::join_path;
use eg_spec::SpecError;
use http::{HeaderName, HeaderValue, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::filter::{BuildContext, Built, Filter, FilterSpec, Handled};
use crate::registry::FilterKind;
use crate::spec::{decode_filter_spec, header_map, status_code};

/// The kind name.
pub const KIND_NAME: &str = "Fallback";
/// Returned after the response was overwritten.
pub const RESULT_FALLBACK: &str = "fallback";
/// Returned when the active namespace has no response.
pub const RESULT_RESPONSE_NOT_FOUND: &str = "responseNotFound";

/// The `Fallback` filter kind.
pub const KIND: FilterKind = FilterKind::new(
    KIND_NAME,
    "Fallback do the fallback.",
    &[RESULT_FALLBACK, RESULT_RESPONSE_NOT_FOUND],
    default_spec,
    build,
)
.with_schema(crate::spec_schema::<FallbackSpec>);

/// `Fallback` fields.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FallbackSpec {
    /// The status written, 100-599 (required).
    #[serde(default)]
    pub mock_code: i64,
    /// Headers set on the response (replacing values of the same name). Default: none.
    #[serde(default)]
    pub mock_headers: BTreeMap<String, String>,
    /// The body written in place of the old one. Default: empty.
    #[serde(default)]
    pub mock_body: String,
}

fn default_spec() -> Value {
    json!({"mockCode": 0})
}

fn build(spec: &FilterSpec, _: &BuildContext<'_>) -> Result<Built, SpecError> {
    let (s, warnings) = decode_filter_spec::<FallbackSpec>(spec)?.into_parts();
    let body = Bytes::from(s.mock_body.clone());
    let len = HeaderValue::from(body.len());
    Ok(Built::new(
        Fallback {
            code: status_code(s.mock_code, &join_path(&spec.path, "mockCode"))?,
            headers: header_map(&s.mock_headers, &join_path(&spec.path, "mockHeaders"))?,
            body,
            content_length: len,
        },
        warnings,
    ))
}

/// The running filter.
pub struct Fallback {
    code: StatusCode,
    headers: Box<[(HeaderName, HeaderValue)]>,
    body: Bytes,
    content_length: HeaderValue,
}

impl Filter for Fallback {
    fn handle<'a>(&'a self, ctx: &'a mut Context) -> Handled<'a> {
        let Some(resp) = ctx.response_mut() else {
            return Handled::Done(RESULT_RESPONSE_NOT_FOUND);
        };
        resp.status = self.code;
        resp.headers
            .insert(http::header::CONTENT_LENGTH, self.content_length.clone());
        for (k, v) in self.headers.iter() {
            resp.headers.insert(k.clone(), v.clone());
        }
        // Dropping a streamed body closes it.
        resp.body = Body::full(self.body.clone());
        Handled::Done(RESULT_FALLBACK)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
