//! The `ResponseBuilder` filter: build the response of the active namespace from a
//! template, or copy the response of another namespace (`sourceNamespace`).
//!
//! The template renders YAML: `statusCode` (default 200; 200-599), `headers`
//! (`{name: [values]}`) and `body`. A status outside 200-599 or an invalid header makes the
//! filter return `buildErr` and log why.

use std::any::Any;
use std::collections::BTreeMap;

use bytes::Bytes;
use eg_protocols::{Body, Context, HttpResponse};
use eg_spec::SpecError;
use http::header::CONTENT_LENGTH;
use http::{HeaderName, HeaderValue, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value};

use super::SourceOrTemplateSpec;
use crate::filter::{BuildContext, Built, Filter, FilterSpec, Handled};
use crate::registry::FilterKind;
use crate::spec::decode_filter_spec;
use crate::template::{buffer_within, BODY_BUFFER_LIMIT};
use crate::template::{BuilderTemplate, RESULT_BUILD_ERR};

/// The kind name.
pub const KIND_NAME: &str = "ResponseBuilder";

/// The `ResponseBuilder` filter kind.
pub const KIND: FilterKind = FilterKind::new(
    KIND_NAME,
    "ResponseBuilder builds a response",
    &[RESULT_BUILD_ERR],
    default_spec,
    build,
)
.with_schema(crate::spec_schema::<ResponseBuilderSpec>);

/// `ResponseBuilder` fields: copy the response of another namespace, or render a template.
pub type ResponseBuilderSpec = SourceOrTemplateSpec;

fn default_spec() -> Value {
    json!({"protocol": "http"})
}

fn build(spec: &FilterSpec, _: &BuildContext<'_>) -> Result<Built, SpecError> {
    let (s, warnings) = decode_filter_spec::<ResponseBuilderSpec>(spec)?.into_parts();
    let template = s.compile(spec)?;
    Ok(Built::new(
        ResponseBuilder {
            name: spec.name.clone(),
            source: s.source_namespace,
            template,
        },
        warnings,
    ))
}

/// What the template renders (Easegress's `responseInfo`).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResponseInfo {
    /// Status code; 0 or absent means 200, otherwise 200-599.
    #[serde(default)]
    pub status_code: Option<i64>,
    /// Header values by name.
    #[serde(default)]
    pub headers: Option<BTreeMap<String, Vec<String>>>,
    /// The body.
    #[serde(default)]
    pub body: Option<String>,
}

impl ResponseInfo {
    /// Builds the response (Easegress's `BuildResponse`); the error says what is invalid.
    pub fn build(self) -> Result<HttpResponse, String> {
        let code = match self.status_code.unwrap_or(0) {
            0 => 200,
            c if (200..600).contains(&c) => c,
            c => return Err(format!("invalid status code: {c}")),
        };
        let status = u16::try_from(code)
            .ok()
            .and_then(|c| StatusCode::from_u16(c).ok())
            .ok_or_else(|| format!("invalid status code: {code}"))?;
        let body = Bytes::from(self.body.unwrap_or_default());
        let mut resp = HttpResponse::new(status);
        for (name, values) in self.headers.unwrap_or_default() {
            let n = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("invalid header name {name:?}"))?;
            for v in values {
                let hv = HeaderValue::from_str(&v)
                    .map_err(|_| format!("invalid value {v:?} of header {name}"))?;
                resp.headers.append(n.clone(), hv);
            }
        }
        if status != StatusCode::NO_CONTENT && status != StatusCode::NOT_MODIFIED {
            resp.headers
                .insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
        }
        resp.body = Body::full(body);
        Ok(resp)
    }
}

/// The running filter.
pub struct ResponseBuilder {
    name: String,
    source: String,
    template: Option<BuilderTemplate>,
}

impl ResponseBuilder {
    fn build_from_template(&self, t: &BuilderTemplate, ctx: &mut Context) -> &'static str {
        let built = t
            .render_as::<ResponseInfo>(ctx)
            .map_err(|e| format!("failed to build response info: {e}"))
            .and_then(ResponseInfo::build);
        match built {
            Ok(resp) => {
                ctx.set_response(resp);
                ""
            }
            Err(e) => {
                tracing::warn!("ResponseBuilder({}): {e}", self.name);
                RESULT_BUILD_ERR
            }
        }
    }

    /// Copies the source namespace's response (its body must be in memory).
    fn copy(&self, ctx: &mut Context) -> &'static str {
        let Some(src) = ctx
            .get_namespace(&self.source)
            .and_then(|n| n.response.as_ref())
        else {
            return "";
        };
        let Some(body) = src
            .body
            .bytes()
            .cloned()
            .or_else(|| src.body.is_buffered().then(Bytes::new))
        else {
            tracing::warn!(
                "ResponseBuilder({}): the body of response {:?} is a stream larger than {} bytes and cannot be copied",
                self.name,
                self.source,
                BODY_BUFFER_LIMIT
            );
            return RESULT_BUILD_ERR;
        };
        let mut copy = HttpResponse::new(src.status);
        copy.headers = src.headers.clone();
        copy.body = Body::full(body);
        ctx.set_response(copy);
        ""
    }
}

impl Filter for ResponseBuilder {
    fn handle<'a>(&'a self, ctx: &'a mut Context) -> Handled<'a> {
        if let Some(t) = &self.template {
            return t.run_after_bodies(ctx, KIND_NAME, &self.name, |ctx| {
                self.build_from_template(t, ctx)
            });
        }
        if ctx.namespace() == self.source {
            return Handled::Done("");
        }
        let streamed = ctx
            .get_namespace(&self.source)
            .and_then(|n| n.response.as_ref())
            .is_some_and(|r| !r.body.is_buffered());
        if !streamed {
            return Handled::Done(self.copy(ctx));
        }
        Handled::Pending(Box::pin(async move {
            if let Some(r) = ctx
                .get_namespace_mut(&self.source)
                .and_then(|n| n.response.as_mut())
            {
                if let Err(e) = buffer_within(&mut r.body, BODY_BUFFER_LIMIT).await {
                    tracing::warn!("ResponseBuilder({}): reading a body: {e}", self.name);
                    return RESULT_BUILD_ERR;
                }
            }
            self.copy(ctx)
        }))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
