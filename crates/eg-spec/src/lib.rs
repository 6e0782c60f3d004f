//! The spec layer of easegress-rs.
//!
//! Everything a user writes is a *spec*: a YAML or JSON document with `name`, `kind` and the
//! kind's own fields. This crate turns documents into typed specs and reports every problem
//! with the path of the field at fault (`filters[1].pools[0].servers[0].url: ...`), the way
//! the admin API answers a bad request.
#![forbid(unsafe_code)]

pub mod decimal;
pub mod decode;
pub mod document;
pub mod duration;
pub mod error;
pub mod ipfilter;
pub mod matcher;
pub mod meta;
pub mod nulls;
pub mod schema;

pub use decode::{decode, decode_kind, unknown_field_warning, Decoded};
pub use document::{parse_document, parse_documents, to_yaml, yaml_options};
pub use duration::GoDuration;
pub use error::{SpecError, SpecResult};
pub use ipfilter::{IpFilter, IpFilterSpec};
pub use matcher::{StringMatcher, StringMatcherSpec};
pub use meta::{owner_of, Meta, DEFAULT_VERSION, META_KEYS, OWNER_LABEL, OWNER_USER_API};
pub use schema::spec_schema;
