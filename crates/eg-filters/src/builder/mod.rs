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
pub mod gzip;
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
pub(crate) use template::buffer_bodies;

/// Returned when a template fails to render or renders something that cannot be built.
pub const RESULT_BUILD_ERR: &str = "buildErr";

/// The `protocol` the request and response builders support.
pub const PROTOCOL_HTTP: &str = "http";

/// Checks a builder's `protocol` (empty means `http`).
pub(crate) fn check_protocol(protocol: &str, path: &str) -> Result<(), eg_spec::SpecError> {
    if protocol.is_empty() || protocol == PROTOCOL_HTTP {
        Ok(())
    } else {
        Err(eg_spec::SpecError::new(
            path,
            format!("unknown protocol: {protocol} (only http is supported)"),
        ))
    }
}

/// Checks that exactly one of `sourceNamespace` and `template` is given.
pub(crate) fn check_source_or_template(
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
