//! The `RequestAdaptor` filter: change method, host, path, headers and body of a request.
//!
//! In order: `method`, `path` (the first of `replace`, `addPrefix`, `trimPrefix`,
//! `regexpReplace` that is set), `header` (`del`, `set`, `add`), `body` (which also drops
//! `Content-Encoding` and sets `Content-Length`), `host`, then `compress` or `decompress`
//! (`gzip`). With a `template`, its YAML output (same fields) takes priority over each
//! static field it sets. Last, `sign` signs the request (AWS SigV4 compatible). Results:
//! `compressFailed`, `decompressFailed`, `signFailed`; a template that fails to render or gives an invalid method, path, host
//! or header ends the flow with `buildErr`, as in Easegress (which does not register it).

mod path;
mod sign;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_sign;

use std::any::Any;

use bytes::Bytes;
use eg_protocols::gzip::GZIP;
use eg_protocols::{Context, HttpRequest};
use eg_spec::error::join_path;
use eg_spec::SpecError;
use http::header::{CONTENT_ENCODING, HOST};
use http::{HeaderValue, Method};
use serde::Deserialize;
use serde_json::{json, Value};

pub use crate::adapt::{RESULT_COMPRESS_FAILED, RESULT_DECOMPRESS_FAILED};

use crate::adapt::{check_coding, recode, replace_body, HeaderAdaptSpec, HeaderAdaptor};
use crate::filter::{BuildContext, Built, Filter, FilterSpec, Handled};
use crate::registry::FilterKind;
use crate::spec::decode_filter_spec;
use crate::template::{BuilderTemplate, RESULT_BUILD_ERR};
use eg_protocols::{standard_method, STANDARD_METHODS};

pub use path::{PathAdaptSpec, PathAdaptor, RegexpReplaceSpec};
pub use sign::{RequestSignSpec, RESULT_SIGN_FAILED};

use crate::template::{buffer_within, BODY_BUFFER_LIMIT};

/// The kind name.
pub const KIND_NAME: &str = "RequestAdaptor";

/// The `RequestAdaptor` filter kind.
pub const KIND: FilterKind = FilterKind::new(
    KIND_NAME,
    "RequestAdaptor adapts request.",
    &[
        RESULT_DECOMPRESS_FAILED,
        RESULT_COMPRESS_FAILED,
        RESULT_SIGN_FAILED,
    ],
    default_spec,
    build,
)
.with_schema(crate::spec_schema::<RequestAdaptorSpec>);

/// `RequestAdaptor` fields.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RequestAdaptorSpec {
    /// New `Host`. Default: unchanged.
    #[serde(default)]
    pub host: String,
    /// New method (GET, HEAD, POST, PUT, PATCH, DELETE, CONNECT, OPTIONS, TRACE). Default:
    /// unchanged.
    #[serde(default)]
    pub method: String,
    /// Path rewrite. Default: none.
    #[serde(default)]
    pub path: Option<PathAdaptSpec>,
    /// Header changes. Default: none.
    #[serde(default)]
    pub header: Option<HeaderAdaptSpec>,
    /// New body. Default: unchanged.
    #[serde(default)]
    pub body: String,
    /// `gzip`: compress a body that has no `Content-Encoding`.
    #[serde(default)]
    pub compress: String,
    /// `gzip`: decompress a body with `Content-Encoding: gzip`.
    #[serde(default)]
    pub decompress: String,
    /// Sign the adapted request (AWS SigV4 compatible). Default: not signed.
    #[serde(default)]
    pub sign: Option<RequestSignSpec>,
    /// A template whose YAML output (`method`, `host`, `path`, `header`, `body`) overrides
    /// the static fields.
    #[serde(default)]
    pub template: String,
    /// Left action delimiter. Default `{{`.
    #[serde(default)]
    pub left_delim: String,
    /// Right action delimiter. Default `}}`.
    #[serde(default)]
    pub right_delim: String,
}

/// What a `template` renders: the same fields as the static spec.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestAdaptorTemplate {
    /// New `Host`.
    #[serde(default)]
    pub host: Option<String>,
    /// New method.
    #[serde(default)]
    pub method: Option<String>,
    /// Path rewrite.
    #[serde(default)]
    pub path: Option<PathAdaptSpec>,
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
    let (s, warnings) = decode_filter_spec::<RequestAdaptorSpec>(spec)?.into_parts();
    check_coding(&s.compress, &s.decompress, !s.body.is_empty(), &spec.path)?;
    let sign = s
        .sign
        .as_ref()
        .map(|g| sign::RequestSigner::compile(g, &join_path(&spec.path, "sign")))
        .transpose()?;
    let method = if s.method.is_empty() {
        None
    } else if standard_method(&s.method).is_some() {
        Method::from_bytes(s.method.as_bytes()).ok()
    } else {
        return Err(SpecError::new(
            join_path(&spec.path, "method"),
            format!(
                "invalid HTTP method {:?}: want one of {}",
                s.method,
                STANDARD_METHODS.map(|m| m.as_str().to_string()).join(", ")
            ),
        ));
    };
    let host = if s.host.is_empty() {
        None
    } else {
        Some(HeaderValue::from_str(&s.host).map_err(|_| {
            SpecError::new(
                join_path(&spec.path, "host"),
                format!("invalid host {:?}", s.host),
            )
        })?)
    };
    let path = s
        .path
        .as_ref()
        .map(|p| PathAdaptor::compile(p, &join_path(&spec.path, "path"), true))
        .transpose()?;
    let header = s
        .header
        .as_ref()
        .map(|h| HeaderAdaptor::compile(h, &join_path(&spec.path, "header")))
        .transpose()?;
    let template =
        BuilderTemplate::compile_optional(spec, &s.template, &s.left_delim, &s.right_delim)?;
    Ok(Built::new(
        RequestAdaptor {
            name: spec.name.clone(),
            method,
            host,
            path,
            header,
            body: (!s.body.is_empty()).then(|| Bytes::from(s.body)),
            compress: !s.compress.is_empty(),
            decompress: !s.decompress.is_empty(),
            template,
            sign,
        },
        warnings,
    ))
}

/// The running filter.
pub struct RequestAdaptor {
    name: String,
    method: Option<Method>,
    host: Option<HeaderValue>,
    path: Option<PathAdaptor>,
    header: Option<HeaderAdaptor>,
    body: Option<Bytes>,
    compress: bool,
    decompress: bool,
    template: Option<BuilderTemplate>,
    sign: Option<sign::RequestSigner>,
}

/// The changes for one request: the static ones, overridden by the template's.
struct Changes<'a> {
    method: Option<std::borrow::Cow<'a, Method>>,
    host: Option<std::borrow::Cow<'a, HeaderValue>>,
    path: Option<std::borrow::Cow<'a, PathAdaptor>>,
    header: Option<std::borrow::Cow<'a, HeaderAdaptor>>,
    body: Option<Bytes>,
}

impl RequestAdaptor {
    fn changes(&self, ctx: &mut Context) -> Result<Changes<'_>, String> {
        use std::borrow::Cow;
        let mut c = Changes {
            method: self.method.as_ref().map(Cow::Borrowed),
            host: self.host.as_ref().map(Cow::Borrowed),
            path: self.path.as_ref().map(Cow::Borrowed),
            header: self.header.as_ref().map(Cow::Borrowed),
            body: self.body.clone(),
        };
        let Some(t) = &self.template else {
            return Ok(c);
        };
        let out: RequestAdaptorTemplate = t
            .render_as(ctx)
            .map_err(|e| format!("failed to build adaptor info: {e}"))?;
        if let Some(m) = out.method.filter(|m| !m.is_empty()) {
            let m =
                Method::from_bytes(m.as_bytes()).map_err(|_| format!("invalid method {m:?}"))?;
            c.method = Some(Cow::Owned(m));
        }
        if let Some(h) = out.host.filter(|h| !h.is_empty()) {
            let v = HeaderValue::from_str(&h).map_err(|_| format!("invalid host {h:?}"))?;
            c.host = Some(Cow::Owned(v));
        }
        if let Some(p) = out.path {
            let p = PathAdaptor::compile(&p, "path", false).map_err(|e| e.to_string())?;
            c.path = Some(Cow::Owned(p));
        }
        if let Some(h) = out.header {
            let h = HeaderAdaptor::compile(&h, "header").map_err(|e| e.to_string())?;
            c.header = Some(Cow::Owned(h));
        }
        if let Some(b) = out.body.filter(|b| !b.is_empty()) {
            c.body = Some(Bytes::from(b));
        }
        Ok(c)
    }

    fn adapt(&self, ctx: &mut Context) -> &'static str {
        let changes = match self.changes(ctx) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!("RequestAdaptor({}): {e}", self.name);
                return RESULT_BUILD_ERR;
            }
        };
        let mut tags = Vec::new();
        let Some(req) = ctx.request_mut() else {
            return "";
        };
        if let Some(m) = changes.method {
            if *m != req.head.method {
                tags.push(format!(
                    "requestAdaptor: method {} adapted to {}",
                    req.head.method, m
                ));
                req.head.method = m.into_owned();
            }
        }
        if let Some(pa) = changes.path {
            let old = req.path().to_string();
            let new = pa.adapt(&old);
            if new != old {
                if let Err(e) = set_path(req, &new) {
                    tracing::warn!("RequestAdaptor({}): {e}", self.name);
                    return RESULT_BUILD_ERR;
                }
                tags.push(format!("requestAdaptor: path {old} adapted to {new}"));
            }
        }
        if let Some(h) = changes.header {
            h.apply(&mut req.head.headers);
        }
        if let Some(b) = changes.body {
            replace_body(&mut req.head.headers, &mut req.body, b);
        }
        if let Some(h) = changes.host {
            req.head.headers.insert(HOST, h.into_owned());
        }
        let result = self.recode(req);
        for t in tags {
            ctx.add_tag(t);
        }
        result
    }

    fn recode(&self, req: &mut HttpRequest) -> &'static str {
        if self.compress && !eg_protocols::lookup::contains(&req.head.headers, &CONTENT_ENCODING) {
            if let Err(e) = recode(&mut req.head.headers, &mut req.body, true) {
                tracing::error!(
                    "RequestAdaptor({}): compress request body failed: {e}",
                    self.name
                );
                return RESULT_COMPRESS_FAILED;
            }
        }
        let gzipped = || {
            eg_protocols::lookup::first(&req.head.headers, &CONTENT_ENCODING)
                .is_some_and(|v| v.as_bytes() == GZIP.as_bytes())
        };
        if self.decompress && gzipped() {
            if let Err(e) = recode(&mut req.head.headers, &mut req.body, false) {
                tracing::error!(
                    "RequestAdaptor({}): decompress request body failed: {e}",
                    self.name
                );
                return RESULT_DECOMPRESS_FAILED;
            }
        }
        ""
    }
}

/// Sets the path, keeping the query; characters a path may not hold are percent-encoded.
fn set_path(req: &mut HttpRequest, path: &str) -> Result<(), String> {
    let mut pq = path::escape_path(if path.is_empty() { "/" } else { path });
    if let Some(q) = req.uri().query() {
        pq.push('?');
        pq.push_str(q);
    }
    req.set_path_and_query(&pq)
        .map_err(|e| format!("invalid path {path:?}: {e}"))
}

impl RequestAdaptor {
    /// The adaptation, waiting for bodies when the template reads them.
    fn adapt_handled<'a>(&'a self, ctx: &'a mut Context) -> Handled<'a> {
        match &self.template {
            Some(t) => t.run_after_bodies(ctx, KIND_NAME, &self.name, |ctx| self.adapt(ctx)),
            None => Handled::Done(self.adapt(ctx)),
        }
    }

    fn sign_request(&self, signer: &sign::RequestSigner, ctx: &mut Context) -> &'static str {
        let Some(req) = ctx.request_mut() else {
            return "";
        };
        match signer.sign(req) {
            Ok(()) => "",
            Err(e) => {
                tracing::error!("RequestAdaptor({}): sign request failed: {e}", self.name);
                RESULT_SIGN_FAILED
            }
        }
    }
}

impl Filter for RequestAdaptor {
    fn handle<'a>(&'a self, ctx: &'a mut Context) -> Handled<'a> {
        let Some(signer) = &self.sign else {
            return self.adapt_handled(ctx);
        };
        let body_ready =
            signer.excludes_body() || ctx.request().is_none_or(|r| r.body.is_buffered());
        if self.template.is_none() && body_ready {
            let r = self.adapt(ctx);
            return Handled::Done(if r.is_empty() {
                self.sign_request(signer, ctx)
            } else {
                r
            });
        }
        Handled::Pending(Box::pin(async move {
            let r = self.adapt_handled(ctx).result().await;
            if !r.is_empty() {
                return r;
            }
            if !signer.excludes_body() {
                if let Some(req) = ctx.request_mut() {
                    if let Err(e) = buffer_within(&mut req.body, BODY_BUFFER_LIMIT).await {
                        tracing::error!(
                            "RequestAdaptor({}): sign request failed: reading the body: {e}",
                            self.name
                        );
                        return RESULT_SIGN_FAILED;
                    }
                }
            }
            self.sign_request(signer, ctx)
        }))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
