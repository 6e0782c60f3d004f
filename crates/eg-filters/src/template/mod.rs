//! Templates: what the builders (`RequestBuilder`, `ResponseBuilder`, `ResultBuilder`,
//! `DataBuilder`) and the adaptors (`RequestAdaptor`, `ResponseAdaptor`) render, and the
//! context they render over.
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
mod objects;
mod render;
mod yaml;

pub use body::BODY_BUFFER_LIMIT;
pub use render::BuilderTemplate;

pub(crate) use body::buffer_within;
pub(crate) use convert::parse_yaml_json;
pub(crate) use data::BuiltRequest;
pub(crate) use objects::{canonical_key, parse_query};

/// Returned when a template fails to render or renders something that cannot be built.
pub const RESULT_BUILD_ERR: &str = "buildErr";
