//! Template builders: `RequestBuilder`, `ResponseBuilder`, `ResultBuilder`, `DataBuilder`,
//! and the template context they share with the adaptors.
//!
//! A template is Go `text/template` text (with sprig 2.20.0 and Easegress's extra
//! functions, see `eg-template`) parsed when the spec is applied; a template that does not
//! parse is a spec error naming `filters[i].template` and the line:column. Per request it
//! renders over:
//!
//! | name | what |
//! |---|---|
//! | `.req`, `.requests.<ns>` | the request of namespace `DEFAULT` / `<ns>`: `Method`, `URL` (`Path`, `RawQuery`, `Query.Get`, `Host`, `Scheme`, `String`), `Host`, `Header` (`Get`, `Values`, or a map of lists), `Proto`, `ContentLength`, `RemoteAddr`, `RequestURI`, `Cookies`, `Cookie`, `UserAgent`, `Referer`, `FormValue`, `Body`, `RawBody`, `JSONBody`, `YAMLBody` |
//! | `.resp`, `.responses.<ns>` | the response: `StatusCode`, `Status`, `Header`, `ContentLength`, `Body`, `RawBody`, `JSONBody`, `YAMLBody` |
//! | `.data` | the context data (`.data.PIPELINE` is the pipeline's `data`) |
//! | `.namespace` | the active namespace |
//!
//! The output is YAML, decoded into what the filter builds. Bodies are read into memory
//! (up to [`BODY_BUFFER_LIMIT`]) only when the template's text mentions a body accessor;
//! `JSONBody` keeps number literals (`1.50` prints `1.50`) and is parsed once per render.

mod body;
mod convert;
mod data;
pub mod databuilder;
pub mod header;
mod objects;
pub mod requestbuilder;
pub mod responsebuilder;
pub mod resultbuilder;
mod template;
#[cfg(test)]
mod tests;
mod yaml;

pub use body::BODY_BUFFER_LIMIT;
pub use header::{HeaderAdaptSpec, HeaderAdaptor};
pub use template::BuilderTemplate;

pub(crate) use data::BuiltRequest;

/// Returned when a template fails to render or renders something that cannot be built.
pub const RESULT_BUILD_ERR: &str = "buildErr";

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
#[derive(Debug, Clone, Default, serde::Deserialize)]
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
