//! The `RequestBuilder` filter: build the request of the active namespace from a template,
//! or copy the request of another namespace (`sourceNamespace`).
//!
//! The template renders YAML: `method` (default `GET`), `url` (default `/`), `headers`
//! (`{name: [values]}`), `body`, and `formData` (`{field: {value, fileName}}`, sent as
//! `multipart/form-data` when there is no `body`). An invalid method, URL or header makes
//! the filter return `buildErr` and log why.

use std::any::Any;
use std::collections::BTreeMap;

use bytes::Bytes;
use eg_protocols::{Body, Context, HttpRequest};
use eg_spec::SpecError;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, HOST};
use http::{HeaderName, HeaderValue, Method, Uri};
use serde::Deserialize;
use serde_json::{json, Value};

use super::SourceOrTemplateSpec;
use crate::filter::{BuildContext, Built, Filter, FilterSpec, Handled};
use crate::registry::FilterKind;
use crate::spec::decode_filter_spec;
use crate::template::{buffer_within, BODY_BUFFER_LIMIT};
use crate::template::{BuilderTemplate, BuiltRequest, RESULT_BUILD_ERR};

/// The kind name.
pub const KIND_NAME: &str = "RequestBuilder";

/// The `RequestBuilder` filter kind.
pub const KIND: FilterKind = FilterKind::new(
    KIND_NAME,
    "RequestBuilder builds a request",
    &[RESULT_BUILD_ERR],
    default_spec,
    build,
)
.with_schema(crate::spec_schema::<RequestBuilderSpec>);

/// `RequestBuilder` fields: copy the request of another namespace, or render a template.
pub type RequestBuilderSpec = SourceOrTemplateSpec;

fn default_spec() -> Value {
    json!({"protocol": "http"})
}

fn build(spec: &FilterSpec, _: &BuildContext<'_>) -> Result<Built, SpecError> {
    let (s, warnings) = decode_filter_spec::<RequestBuilderSpec>(spec)?.into_parts();
    let template = s.compile(spec)?;
    Ok(Built::new(
        RequestBuilder {
            name: spec.name.clone(),
            source: s.source_namespace,
            template,
        },
        warnings,
    ))
}

/// What the template renders (Easegress's `requestInfo`).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestInfo {
    /// Method, upper-cased; default `GET`.
    #[serde(default)]
    pub method: Option<String>,
    /// Path and query, or an absolute URL; default `/`.
    #[serde(default)]
    pub url: Option<String>,
    /// Header values by name.
    #[serde(default)]
    pub headers: Option<BTreeMap<String, Vec<String>>>,
    /// The body.
    #[serde(default)]
    pub body: Option<String>,
    /// Multipart form fields, used when there is no body.
    #[serde(default)]
    pub form_data: Option<BTreeMap<String, FormField>>,
}

/// One multipart form field.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FormField {
    /// A file name makes the field a file part.
    #[serde(default)]
    pub file_name: Option<String>,
    /// The content.
    #[serde(default)]
    pub value: Option<String>,
}

/// Percent-encodes what a URI may not contain (spaces, quotes, non-ASCII, ...), keeping
/// everything else, so that `/a b` becomes `/a%20b` as Go would send it.
pub(crate) fn escape_uri(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        let keep = b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?%#[]".contains(&b);
        if keep {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn parse_url(url: &str) -> Result<Uri, String> {
    if url.bytes().any(|b| b.is_ascii_control()) {
        return Err(format!("invalid url {url:?}: control character"));
    }
    let uri: Uri = escape_uri(url)
        .parse()
        .map_err(|e| format!("invalid url {url:?}: {e}"))?;
    let absolute =
        matches!(uri.scheme_str(), Some("http") | Some("https")) && uri.authority().is_some();
    if !absolute && !uri.path().starts_with('/') {
        return Err(format!(
            "invalid url {url:?}: want a path starting with / or an http(s) URL"
        ));
    }
    if uri.scheme().is_some() && !absolute {
        return Err(format!("invalid url {url:?}: unsupported scheme"));
    }
    Ok(uri)
}

fn multipart(fields: &BTreeMap<String, FormField>) -> (Bytes, String) {
    let boundary: String = (0..30)
        .map(|_| format!("{:02x}", rand::random::<u8>()))
        .collect();
    let mut out = Vec::new();
    for (name, f) in fields {
        out.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        let name = name.replace('\\', "\\\\").replace('"', "\\\"");
        match f.file_name.as_deref().filter(|n| !n.is_empty()) {
            Some(file) => {
                let file = file.replace('\\', "\\\\").replace('"', "\\\"");
                out.extend_from_slice(
                    format!(
                        "Content-Disposition: form-data; name=\"{name}\"; filename=\"{file}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                    )
                    .as_bytes(),
                );
            }
            None => out.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        out.extend_from_slice(f.value.as_deref().unwrap_or("").as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (
        Bytes::from(out),
        format!("multipart/form-data; boundary={boundary}"),
    )
}

impl RequestInfo {
    /// Builds the request (Easegress's `BuildRequest`); the error says what is invalid.
    pub fn build(self) -> Result<HttpRequest, String> {
        let method = self
            .method
            .filter(|m| !m.is_empty())
            .map(|m| m.to_ascii_uppercase())
            .unwrap_or_else(|| "GET".to_string());
        if eg_protocols::standard_method(&method).is_none() {
            return Err(format!("invalid method: {method}"));
        }
        let url = self
            .url
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| "/".into());
        let uri = parse_url(&url)?;
        let host = uri.authority().map(|a| a.as_str().to_string());
        let (mut head, ()) = http::Request::new(()).into_parts();
        head.method = Method::from_bytes(method.as_bytes()).map_err(|e| e.to_string())?;
        head.uri = uri;
        head.extensions.insert(BuiltRequest);
        if let Some(h) = host {
            let v = HeaderValue::from_str(&h).map_err(|_| format!("invalid host {h:?}"))?;
            head.headers.insert(HOST, v);
        }
        for (name, values) in self.headers.unwrap_or_default() {
            let n = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("invalid header name {name:?}"))?;
            for v in values {
                let hv = HeaderValue::from_str(&v)
                    .map_err(|_| format!("invalid value {v:?} of header {name}"))?;
                head.headers.append(n.clone(), hv);
            }
        }
        let body = match (self.body.filter(|b| !b.is_empty()), self.form_data) {
            (Some(b), _) => Bytes::from(b),
            (None, Some(form)) if !form.is_empty() => {
                let (b, ct) = multipart(&form);
                let ct = HeaderValue::from_str(&ct).map_err(|e| e.to_string())?;
                head.headers.insert(CONTENT_TYPE, ct);
                b
            }
            _ => Bytes::new(),
        };
        if !body.is_empty() {
            head.headers
                .insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
        }
        Ok(HttpRequest::new(head, Body::full(body)))
    }
}

/// The running filter.
pub struct RequestBuilder {
    name: String,
    source: String,
    template: Option<BuilderTemplate>,
}

impl RequestBuilder {
    fn build_from_template(&self, t: &BuilderTemplate, ctx: &mut Context) -> &'static str {
        let built = t
            .render_as::<RequestInfo>(ctx)
            .map_err(|e| format!("failed to build request info: {e}"))
            .and_then(RequestInfo::build);
        match built {
            Ok(req) => {
                ctx.active_mut().request = Some(req);
                ""
            }
            Err(e) => {
                tracing::warn!("RequestBuilder({}): {e}", self.name);
                RESULT_BUILD_ERR
            }
        }
    }

    /// Copies the source namespace's request (its body must be in memory).
    fn copy(&self, ctx: &mut Context) -> &'static str {
        let Some(src) = ctx
            .get_namespace(&self.source)
            .and_then(|n| n.request.as_ref())
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
                "RequestBuilder({}): the body of request {:?} is a stream larger than {} bytes and cannot be copied",
                self.name,
                self.source,
                BODY_BUFFER_LIMIT
            );
            return RESULT_BUILD_ERR;
        };
        let copy = HttpRequest::new(src.head.clone(), Body::full(body));
        ctx.active_mut().request = Some(copy);
        ""
    }
}

impl Filter for RequestBuilder {
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
            .and_then(|n| n.request.as_ref())
            .is_some_and(|r| !r.body.is_buffered());
        if !streamed {
            return Handled::Done(self.copy(ctx));
        }
        Handled::Pending(Box::pin(async move {
            if let Some(r) = ctx
                .get_namespace_mut(&self.source)
                .and_then(|n| n.request.as_mut())
            {
                if let Err(e) = buffer_within(&mut r.body, BODY_BUFFER_LIMIT).await {
                    tracing::warn!("RequestBuilder({}): reading a body: {e}", self.name);
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
