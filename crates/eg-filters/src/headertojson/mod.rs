//! The `HeaderToJSON` filter: copies request headers into the JSON body of the request.
//!
//! For each `headerMap` entry whose header the request carries with a non-empty value (the
//! first value counts), the field named `json` is set to that value:
//!
//! - an empty body becomes a JSON object holding just those fields;
//! - a JSON object body gets the fields merged in (a field of the same name is replaced);
//! - a JSON array body gets them merged into each of its objects;
//! - any other body (not starting with `{` or `[` after white space, or not valid JSON, or
//!   an array holding something other than objects) is left alone and the filter returns
//!   `jsonEncodeDecodeErr`.
//!
//! `Content-Type` is neither checked nor set, as in Easegress. A streamed body (route
//! `clientMaxBodySize: -1`) cannot be rewritten: the filter returns `bodyReadErr`. When no
//! listed header is present nothing changes. A rewritten body gets a matching
//! `Content-Length`.

#[cfg(test)]
mod tests;

use std::any::Any;

use bytes::Bytes;
use eg_protocols::Context;
use eg_spec::SpecError;
use http::HeaderName;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::filter::{BuildContext, Built, Filter, FilterSpec, Handled};
use crate::registry::FilterKind;
use crate::spec::{decode_filter_spec, header_name};

/// The kind name.
pub const KIND_NAME: &str = "HeaderToJSON";
/// Returned when the body is not JSON that headers can be merged into.
pub const RESULT_JSON_ENCODE_DECODE_ERR: &str = "jsonEncodeDecodeErr";
/// Returned when the body is streamed and cannot be rewritten.
pub const RESULT_BODY_READ_ERR: &str = "bodyReadErr";

/// The `HeaderToJSON` filter kind.
pub const KIND: FilterKind = FilterKind::new(
    KIND_NAME,
    "HeaderToJSON convert http request header to json",
    &[RESULT_JSON_ENCODE_DECODE_ERR, RESULT_BODY_READ_ERR],
    default_spec,
    build,
)
.with_schema(crate::spec_schema::<HeaderToJsonSpec>);

/// `HeaderToJSON` fields.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HeaderToJsonSpec {
    /// Which header goes to which JSON field. Required (may be empty).
    #[serde(default)]
    pub header_map: Option<Vec<HeaderMapEntry>>,
}

/// One `headerMap` entry.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
pub struct HeaderMapEntry {
    /// The request header. Required.
    #[serde(default)]
    pub header: String,
    /// The name of the JSON field. Required.
    #[serde(default)]
    pub json: String,
}

fn default_spec() -> Value {
    json!({})
}

fn build(spec: &FilterSpec, _: &BuildContext<'_>) -> Result<Built, SpecError> {
    let (s, warnings) = decode_filter_spec::<HeaderToJsonSpec>(spec)?.into_parts();
    let Some(entries) = s.header_map else {
        return Err(SpecError::new(
            format!("{}.headerMap", spec.path),
            "required",
        ));
    };
    let mut map: Vec<(HeaderName, String)> = Vec::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate() {
        let at = format!("{}.headerMap[{i}]", spec.path);
        if e.header.is_empty() {
            return Err(SpecError::new(format!("{at}.header"), "required"));
        }
        let name = header_name(&e.header, &format!("{at}.header"))?;
        if e.json.is_empty() {
            return Err(SpecError::new(format!("{at}.json"), "required"));
        }
        if map.iter().any(|(n, _)| *n == name) {
            return Err(SpecError::new(
                format!("{at}.header"),
                format!("duplicated header {:?}", e.header),
            ));
        }
        map.push((name, e.json.clone()));
    }
    Ok(Built::new(
        HeaderToJson {
            map: map.into_boxed_slice(),
        },
        warnings,
    ))
}

/// The running filter.
#[derive(Debug)]
pub struct HeaderToJson {
    map: Box<[(HeaderName, String)]>,
}

impl HeaderToJson {
    /// The fields to set: the listed headers present with a non-empty value.
    fn fields(&self, headers: &http::HeaderMap) -> Map<String, Value> {
        let mut fields = Map::new();
        for (name, field) in self.map.iter() {
            let Some(v) = headers.get(name) else { continue };
            if v.is_empty() {
                continue;
            }
            let text = String::from_utf8_lossy(v.as_bytes()).into_owned();
            fields.insert(field.clone(), Value::String(text));
        }
        fields
    }
}

/// The body with `fields` merged in, or `None` when the body is not mergeable JSON.
fn merged(body: &[u8], fields: Map<String, Value>) -> Option<Vec<u8>> {
    let first = body
        .iter()
        .find(|b| !matches!(b, b'\n' | b'\t' | b'\r' | b' '))
        .copied();
    let value = match first {
        None => Value::Object(fields),
        Some(b'{') => {
            let mut obj: Map<String, Value> = serde_json::from_slice(body).ok()?;
            obj.extend(fields);
            Value::Object(obj)
        }
        Some(b'[') => {
            let mut items: Vec<Map<String, Value>> = serde_json::from_slice(body).ok()?;
            for item in &mut items {
                item.extend(fields.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
            Value::Array(items.into_iter().map(Value::Object).collect())
        }
        Some(_) => return None,
    };
    serde_json::to_vec(&value).ok()
}

impl Filter for HeaderToJson {
    fn handle<'a>(&'a self, ctx: &'a mut Context) -> Handled<'a> {
        let Some(req) = ctx.request_mut() else {
            return Handled::Done("");
        };
        let fields = self.fields(req.headers());
        if fields.is_empty() {
            return Handled::Done("");
        }
        if !req.body.is_buffered() {
            return Handled::Done(RESULT_BODY_READ_ERR);
        }
        let body = req.body.bytes().cloned().unwrap_or_default();
        let Some(new) = merged(&body, fields) else {
            return Handled::Done(RESULT_JSON_ENCODE_DECODE_ERR);
        };
        let req = &mut *req;
        crate::adapt::replace_body(&mut req.head.headers, &mut req.body, Bytes::from(new));
        Handled::Done("")
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
