//! Template builders: `RequestBuilder`, `ResponseBuilder`, `ResultBuilder` and
//! `DataBuilder`. Their templates and what they render over are in [`crate::template`].

pub mod databuilder;
pub mod requestbuilder;
pub mod responsebuilder;
pub mod resultbuilder;
#[cfg(test)]
mod tests;

use crate::template::BuilderTemplate;
pub use crate::template::RESULT_BUILD_ERR;

/// The `protocol` the request and response builders support.
pub const PROTOCOL_HTTP: &str = "http";

/// Checks a builder's `protocol` (empty means `http`).
fn check_protocol(protocol: &str, path: &str) -> Result<(), eg_spec::SpecError> {
    if protocol.is_empty() || protocol == PROTOCOL_HTTP {
        Ok(())
    } else {
        Err(eg_spec::SpecError::new(
            path,
            format!("unknown protocol: {protocol} (only http is supported)"),
        ))
    }
}

/// The fields `RequestBuilder` and `ResponseBuilder` share: copy the message of another
/// namespace, or render a template.
#[derive(Debug, Clone, Default, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SourceOrTemplateSpec {
    /// Copy the message of this namespace instead of rendering a template.
    #[serde(default)]
    pub source_namespace: String,
    /// Only `http` (the default).
    #[serde(default)]
    pub protocol: String,
    /// The template (exclusive with `sourceNamespace`).
    #[serde(default)]
    pub template: String,
    /// Left action delimiter. Default `{{`.
    #[serde(default)]
    pub left_delim: String,
    /// Right action delimiter. Default `}}`.
    #[serde(default)]
    pub right_delim: String,
}

impl SourceOrTemplateSpec {
    /// Checks `protocol` and that exactly one of `sourceNamespace` and `template` is given,
    /// and compiles the template (`None` when the filter copies a namespace). Errors name
    /// the field under `spec.path`.
    pub(crate) fn compile(
        &self,
        spec: &crate::filter::FilterSpec,
    ) -> Result<Option<BuilderTemplate>, eg_spec::SpecError> {
        check_protocol(
            &self.protocol,
            &eg_spec::error::join_path(&spec.path, "protocol"),
        )?;
        check_source_or_template(&self.source_namespace, &self.template, &spec.path)?;
        BuilderTemplate::compile_optional(spec, &self.template, &self.left_delim, &self.right_delim)
    }
}

/// Checks that exactly one of `sourceNamespace` and `template` is given.
fn check_source_or_template(
    source: &str,
    template: &str,
    path: &str,
) -> Result<(), eg_spec::SpecError> {
    match (source.is_empty(), template.is_empty()) {
        (true, true) => Err(eg_spec::SpecError::new(
            path,
            "sourceNamespace or template must be specified",
        )),
        (false, false) => Err(eg_spec::SpecError::new(
            path,
            "sourceNamespace and template cannot be specified at the same time",
        )),
        _ => Ok(()),
    }
}
