//! The `ResponseAdaptor` filter: change headers and body of a response.
//!
//! In order: `header` (`del`, `set`, `add`), `body` (which also drops `Content-Encoding`
//! and sets a `Content-Length` matching the new body), then `compress` or `decompress`
//! (`gzip`). With a `template`, its YAML output (`header`, `body`) takes priority over the
//! static fields. Results: `responseNotFound` when the active namespace has no response,
//! `compressFailed`, `decompressFailed`; a template that fails to render or gives an
//! invalid header ends the flow with `buildErr`, as in Easegress (which does not register
//! it).
//!
//! Unlike Easegress, a replaced body never keeps the old `Content-Length`.

#[cfg(test)]
mod tests;

use std::any::Any;
use std::borrow::Cow;

use bytes::Bytes;
use eg_protocols::{Context, HttpResponse};
use eg_spec::error::join_path;
use eg_spec::SpecError;
use http::header::CONTENT_ENCODING;
use serde::Deserialize;
use serde_json::{json, Value};

use eg_protocols::gzip::GZIP;

use crate::adapt::{
    check_coding, recode, replace_body, HeaderAdaptSpec, HeaderAdaptor, RESULT_COMPRESS_FAILED,
    RESULT_DECOMPRESS_FAILED,
};
use crate::filter::{BuildContext, Built, Filter, FilterSpec, Handled};
use crate::registry::FilterKind;
use crate::spec::decode_filter_spec;
use crate::template::{BuilderTemplate, RESULT_BUILD_ERR};

/// The kind name.
pub const KIND_NAME: &str = "ResponseAdaptor";
/// Returned when the active namespace has no response.
pub const RESULT_RESPONSE_NOT_FOUND: &str = "responseNotFound";

/// The `ResponseAdaptor` filter kind.
pub const KIND: FilterKind = FilterKind::new(
    KIND_NAME,
    "ResponseAdaptor adapts response.",
    &[
        RESULT_RESPONSE_NOT_FOUND,
        RESULT_COMPRESS_FAILED,
        RESULT_DECOMPRESS_FAILED,
    ],
    default_spec,
    build,
)
.with_schema(crate::spec_schema::<ResponseAdaptorSpec>);

/// `ResponseAdaptor` fields.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResponseAdaptorSpec {
    /// Header changes. Default: none.
    #[serde(default)]
    pub header: Option<HeaderAdaptSpec>,
    /// New body. Default: unchanged.
    #[serde(default)]
    pub body: String,
    /// `gzip`: compress a body whose `Content-Encoding` does not mention gzip.
    #[serde(default)]
    pub compress: String,
    /// `gzip`: decompress a body with `Content-Encoding: gzip`.
    #[serde(default)]
    pub decompress: String,
    /// A template whose YAML output (`header`, `body`) overrides the static fields.
    #[serde(default)]
    pub template: String,
    /// Left action delimiter. Default `{{`.
    #[serde(default)]
    pub left_delim: String,
    /// Right action delimiter. Default `}}`.
    #[serde(default)]
    pub right_delim: String,
}

/// What a `template` renders.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResponseAdaptorTemplate {
    /// Header changes.
    #[serde(default)]
    pub header: Option<HeaderAdaptSpec>,
    /// New body.
    #[serde(default)]
    pub body: Option<String>,
}

fn default_spec() -> Value {
    json!({})
}

fn build(spec: &FilterSpec, _: &BuildContext<'_>) -> Result<Built, SpecError> {
    let (s, warnings) = decode_filter_spec::<ResponseAdaptorSpec>(spec)?.into_parts();
    check_coding(&s.compress, &s.decompress, !s.body.is_empty(), &spec.path)?;
    let header = s
        .header
        .as_ref()
        .map(|h| HeaderAdaptor::compile(h, &join_path(&spec.path, "header")))
        .transpose()?;
    let template =
        BuilderTemplate::compile_optional(spec, &s.template, &s.left_delim, &s.right_delim)?;
    Ok(Built::new(
        ResponseAdaptor {
            name: spec.name.clone(),
            header,
            body: (!s.body.is_empty()).then(|| Bytes::from(s.body)),
            compress: !s.compress.is_empty(),
            decompress: !s.decompress.is_empty(),
            template,
        },
        warnings,
    ))
}

/// The running filter.
pub struct ResponseAdaptor {
    name: String,
    header: Option<HeaderAdaptor>,
    body: Option<Bytes>,
    compress: bool,
    decompress: bool,
    template: Option<BuilderTemplate>,
}

impl ResponseAdaptor {
    fn changes(
        &self,
        ctx: &mut Context,
    ) -> Result<(Option<Cow<'_, HeaderAdaptor>>, Option<Bytes>), String> {
        let mut header = self.header.as_ref().map(Cow::Borrowed);
        let mut body = self.body.clone();
        if let Some(t) = &self.template {
            let out: ResponseAdaptorTemplate = t
                .render_as(ctx)
                .map_err(|e| format!("failed to build adaptor info: {e}"))?;
            if let Some(h) = out.header {
                let h = HeaderAdaptor::compile(&h, "header").map_err(|e| e.to_string())?;
                header = Some(Cow::Owned(h));
            }
            if let Some(b) = out.body.filter(|b| !b.is_empty()) {
                body = Some(Bytes::from(b));
            }
        }
        Ok((header, body))
    }

    fn adapt(&self, ctx: &mut Context) -> &'static str {
        if ctx.response().is_none() {
            return RESULT_RESPONSE_NOT_FOUND;
        }
        let (header, body) = match self.changes(ctx) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!("ResponseAdaptor({}): {e}", self.name);
                return RESULT_BUILD_ERR;
            }
        };
        let Some(resp) = ctx.response_mut() else {
            return RESULT_RESPONSE_NOT_FOUND;
        };
        if let Some(h) = header {
            h.apply(&mut resp.headers);
        }
        if let Some(b) = body {
            replace_body(&mut resp.headers, &mut resp.body, b);
        }
        self.recode(resp)
    }

    fn recode(&self, resp: &mut HttpResponse) -> &'static str {
        let has_gzip = resp
            .headers
            .get_all(CONTENT_ENCODING)
            .iter()
            .any(|v| String::from_utf8_lossy(v.as_bytes()).contains(GZIP));
        if self.compress && !has_gzip {
            if let Err(e) = recode(&mut resp.headers, &mut resp.body, true) {
                tracing::error!(
                    "ResponseAdaptor({}): compress response body failed: {e}",
                    self.name
                );
                return RESULT_COMPRESS_FAILED;
            }
        }
        let gzipped = resp
            .headers
            .get(CONTENT_ENCODING)
            .is_some_and(|v| v.as_bytes() == GZIP.as_bytes());
        if self.decompress && gzipped {
            if let Err(e) = recode(&mut resp.headers, &mut resp.body, false) {
                tracing::error!(
                    "ResponseAdaptor({}): decompress response body failed: {e}",
                    self.name
                );
                return RESULT_DECOMPRESS_FAILED;
            }
        }
        ""
    }
}

impl Filter for ResponseAdaptor {
    fn handle<'a>(&'a self, ctx: &'a mut Context) -> Handled<'a> {
        match &self.template {
            Some(t) if ctx.response().is_some() => {
                t.run_after_bodies(ctx, KIND_NAME, &self.name, |ctx| self.adapt(ctx))
            }
            _ => Handled::Done(self.adapt(ctx)),
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
