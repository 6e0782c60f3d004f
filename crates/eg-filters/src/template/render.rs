//! A builder template: parsed when the spec is applied, rendered per request.

use eg_protocols::{BodyError, Context};
use eg_spec::error::join_path;
use eg_spec::SpecError;
use eg_template::{Options, Template};
use serde::de::DeserializeOwned;

use super::body::{buffer_within, BODY_BUFFER_LIMIT};
use super::convert::decode_output;
use super::data::render;
use crate::filter::{FilterSpec, Handled};

/// Names whose presence in a template means it may read a body (`Body`, `RawBody`,
/// `JSONBody`, `YAMLBody`, and `FormValue`, which reads a form body).
const BODY_WORDS: [&str; 2] = ["Body", "FormValue"];

/// A parsed template and what it needs from the request.
#[derive(Clone)]
pub struct BuilderTemplate {
    template: Template,
    reads_body: bool,
}

impl BuilderTemplate {
    /// Parses the `template` of `spec` with its delimiters (empty means `{{`/`}}`). A parse
    /// error is a [`SpecError`] at `<filter path>.template` naming the filter and the
    /// line:column (1-based) of the offending text.
    pub fn compile(
        spec: &FilterSpec,
        text: &str,
        left_delim: &str,
        right_delim: &str,
    ) -> Result<BuilderTemplate, SpecError> {
        let opts = Options::with_delims(left_delim, right_delim);
        let template = Template::parse(&spec.name, text, &opts).map_err(|e| {
            SpecError::new(
                join_path(&spec.path, "template"),
                format!(
                    "template of filter {:?} does not parse: line {}:{}: {}",
                    spec.name,
                    e.line,
                    e.col + 1,
                    e.message
                ),
            )
        })?;
        Ok(BuilderTemplate {
            template,
            reads_body: BODY_WORDS.iter().any(|w| text.contains(w)),
        })
    }

    /// Like [`BuilderTemplate::compile`], for a template field that may be left empty
    /// (`None` when `text` is empty).
    pub fn compile_optional(
        spec: &FilterSpec,
        text: &str,
        left_delim: &str,
        right_delim: &str,
    ) -> Result<Option<BuilderTemplate>, SpecError> {
        if text.is_empty() {
            return Ok(None);
        }
        Self::compile(spec, text, left_delim, right_delim).map(Some)
    }

    /// Whether the template may read a body (decided from its text when parsed).
    pub fn reads_body(&self) -> bool {
        self.reads_body
    }

    /// Whether a body the template may read is still a stream, so that
    /// [`buffer_bodies`] must run (asynchronously) before [`BuilderTemplate::render`].
    pub(crate) fn wants_buffering(&self, ctx: &Context) -> bool {
        self.reads_body
            && ctx.namespaces().iter().any(|n| {
                n.request.as_ref().is_some_and(|r| !r.body.is_buffered())
                    || n.response.as_ref().is_some_and(|r| !r.body.is_buffered())
            })
    }

    /// Runs `step` on `ctx` — at once when the bodies the template may read are in memory,
    /// otherwise after reading them (a future). A body that cannot be read gives `buildErr`,
    /// logged as `<kind>(<name>): reading a body: ...`.
    pub(crate) fn run_after_bodies<'a>(
        &self,
        ctx: &'a mut Context,
        kind: &'static str,
        name: &'a str,
        step: impl FnOnce(&mut Context) -> &'static str + Send + 'a,
    ) -> Handled<'a> {
        if !self.wants_buffering(ctx) {
            return Handled::Done(step(ctx));
        }
        Handled::Pending(Box::pin(async move {
            if let Err(e) = buffer_bodies(ctx).await {
                tracing::warn!("{kind}({name}): reading a body: {e}");
                return super::RESULT_BUILD_ERR;
            }
            step(ctx)
        }))
    }

    /// Renders over the context (see [`super::data`]); errors are Go's execution messages.
    pub(crate) fn render(&self, ctx: &mut Context) -> Result<String, String> {
        render(&self.template, ctx)
    }

    /// Renders and decodes the YAML output into `T` (blank output gives the default).
    pub(crate) fn render_as<T: DeserializeOwned + Default>(
        &self,
        ctx: &mut Context,
    ) -> Result<T, String> {
        let text = self.render(ctx)?;
        decode_output(&text)
            .map_err(|e| format!("bad YAML from template: {e}; output was:\n{text}"))
    }
}

/// Reads every streamed request and response body of the context into memory, up to
/// [`BODY_BUFFER_LIMIT`] bytes each (larger ones stay streams and show Easegress's
/// placeholder text in templates).
pub(crate) async fn buffer_bodies(ctx: &mut Context) -> Result<(), BodyError> {
    let names: Vec<String> = ctx
        .namespaces()
        .iter()
        .map(|n| n.name.to_string())
        .collect();
    for name in names {
        let Some(ns) = ctx.get_namespace_mut(&name) else {
            continue;
        };
        if let Some(r) = ns.request.as_mut() {
            buffer_within(&mut r.body, BODY_BUFFER_LIMIT).await?;
        }
        if let Some(r) = ns.response.as_mut() {
            buffer_within(&mut r.body, BODY_BUFFER_LIMIT).await?;
        }
    }
    Ok(())
}
