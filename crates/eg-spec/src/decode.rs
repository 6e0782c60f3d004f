//! Typed decoding of a JSON tree with field paths and unknown-key warnings.
//!
//! [`decode_kind`] is how every spec is read — an object's document, a filter of a pipeline,
//! a resilience policy: its meta keys ([`META_KEYS`]) are known to every kind, any other
//! key the type does not know becomes a warning, formatted by [`unknown_field_warning`].
//! [`decode`] reads a bare tree (no meta keys) the same way.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{join_path, SpecError};
use crate::meta::META_KEYS;
use crate::nulls::Nulls;

/// A decoded spec plus the unknown keys found in it.
#[derive(Debug)]
pub struct Decoded<T> {
    /// The typed spec.
    pub spec: T,
    /// Paths of keys that no field knows. Easegress ignores them; easegress-rs ignores them
    /// too and reports them back to the caller as warnings.
    pub unknown: Vec<String>,
}

impl<T> Decoded<T> {
    /// The unknown keys as warnings (`<path>: unknown field, ignored`).
    pub fn warnings(&self) -> Vec<String> {
        self.unknown
            .iter()
            .map(|k| unknown_field_warning(k))
            .collect()
    }

    /// The spec and the warnings, for callers that hand the warnings on.
    pub fn into_parts(self) -> (T, Vec<String>) {
        let warnings = self.warnings();
        (self.spec, warnings)
    }
}

/// The warning for a key no field knows, as the admin API reports it.
pub fn unknown_field_warning(path: &str) -> String {
    format!("{path}: unknown field, ignored")
}

/// Decodes a spec found at `prefix` of a document into `T`: like [`decode`], but the meta
/// keys directly under `prefix` ([`META_KEYS`]: `name`, `kind`, ...) are not reported as
/// unknown, so `T` lists only the kind's own fields.
pub fn decode_kind<T: DeserializeOwned>(
    doc: &Value,
    prefix: &str,
) -> Result<Decoded<T>, SpecError> {
    let mut decoded = decode::<T>(doc, prefix)?;
    let meta: Vec<String> = META_KEYS.iter().map(|k| join_path(prefix, k)).collect();
    decoded.unknown.retain(|k| !meta.contains(k));
    Ok(decoded)
}

/// Decodes `value` into `T`.
///
/// Errors name the field path, prefixed with `prefix` (e.g. `filters[0]`). Keys the type
/// does not know are collected in [`Decoded::unknown`] instead of failing. A `null` reads as
/// Easegress reads it (see [`crate::nulls`]): a field set to `null` keeps its default, and a
/// `null` anywhere else is the zero value of what is expected there.
pub fn decode<T: DeserializeOwned>(value: &Value, prefix: &str) -> Result<Decoded<T>, SpecError> {
    let mut unknown = Vec::new();
    let mut on_unknown = |path: serde_ignored::Path<'_>| {
        unknown.push(join_path(prefix, &render_ignored(&path)));
    };
    let de = serde_ignored::Deserializer::new(Nulls(value), &mut on_unknown);
    let spec: T = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = render_path(e.path());
        SpecError::new(
            join_path(prefix, &path),
            clean_message(&e.inner().to_string()),
        )
    })?;
    Ok(Decoded { spec, unknown })
}

fn render_path(path: &serde_path_to_error::Path) -> String {
    let mut out = String::new();
    for seg in path.iter() {
        match seg {
            serde_path_to_error::Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            serde_path_to_error::Segment::Map { key } => push_key(&mut out, key),
            serde_path_to_error::Segment::Enum { variant } => push_key(&mut out, variant),
            serde_path_to_error::Segment::Unknown => push_key(&mut out, "?"),
        }
    }
    out
}

fn render_ignored(path: &serde_ignored::Path<'_>) -> String {
    match path {
        serde_ignored::Path::Root => String::new(),
        serde_ignored::Path::Seq { parent, index } => {
            format!("{}[{index}]", render_ignored(parent))
        }
        serde_ignored::Path::Map { parent, key } => {
            let mut s = render_ignored(parent);
            push_key(&mut s, key);
            s
        }
        serde_ignored::Path::Some { parent }
        | serde_ignored::Path::NewtypeStruct { parent }
        | serde_ignored::Path::NewtypeVariant { parent } => render_ignored(parent),
    }
}

fn push_key(out: &mut String, key: &str) {
    if !out.is_empty() {
        out.push('.');
    }
    out.push_str(key);
}

/// serde_json messages end with "at line N column M", which means nothing for a tree.
fn clean_message(msg: &str) -> String {
    match msg.find(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize, Debug)]
    #[serde(rename_all = "camelCase")]
    #[allow(dead_code)] // fields exist to be decoded
    struct Server {
        url: String,
        #[serde(default)]
        weight: u32,
    }

    #[derive(Deserialize, Debug)]
    struct Pool {
        servers: Vec<Server>,
    }

    #[test]
    fn wrong_type_names_the_field() {
        let v: Value = serde_json::json!({"servers": [{"url": "http://a"}, {"url": "http://b", "weight": "x"}]});
        let err = decode::<Pool>(&v, "pools[0]").unwrap_err();
        assert_eq!(err.path, "pools[0].servers[1].weight");
        assert!(err.message.contains("invalid type"), "{err}");
    }

    #[test]
    fn missing_field_names_the_parent() {
        let v: Value = serde_json::json!({"servers": [{"weight": 1}]});
        let err = decode::<Pool>(&v, "").unwrap_err();
        assert_eq!(err.path, "servers[0]");
        assert!(err.message.contains("missing field `url`"), "{err}");
    }

    #[test]
    fn kind_specs_skip_the_meta_keys_at_their_top_only() {
        let v: Value = serde_json::json!({"name": "p", "kind": "K", "labels": {}, "version": "v",
            "createdAt": "t", "servers": [{"url": "http://a", "name": "s"}]});
        let d = decode_kind::<Pool>(&v, "filters[0]").unwrap();
        assert_eq!(
            d.warnings(),
            vec!["filters[0].servers[0].name: unknown field, ignored"]
        );
        let d = decode_kind::<Pool>(&v, "").unwrap();
        assert_eq!(d.unknown, vec!["servers[0].name"]);
    }

    #[test]
    fn unknown_keys_are_warnings() {
        let v: Value =
            serde_json::json!({"servers": [{"url": "http://a", "maxConnection": 3}], "x": 1});
        let d = decode::<Pool>(&v, "filters[0]").unwrap();
        assert_eq!(d.spec.servers.len(), 1);
        assert_eq!(
            d.unknown,
            vec!["filters[0].servers[0].maxConnection", "filters[0].x"]
        );
    }

    #[derive(Deserialize, Debug, Default, PartialEq)]
    #[serde(rename_all = "camelCase", default)]
    struct Inner {
        key: String,
        count: u32,
    }

    fn nine() -> i64 {
        9
    }

    #[derive(Deserialize, Debug, PartialEq)]
    #[serde(rename_all = "camelCase")]
    struct Everything {
        #[serde(default)]
        text: String,
        #[serde(default)]
        number: u16,
        #[serde(default = "nine")]
        with_default: i64,
        #[serde(default)]
        float: f64,
        #[serde(default)]
        flag: bool,
        #[serde(default)]
        list: Vec<String>,
        #[serde(default)]
        map: std::collections::BTreeMap<String, String>,
        #[serde(default)]
        inner: Inner,
        #[serde(default)]
        maybe: Option<String>,
        #[serde(default)]
        inners: Vec<Inner>,
        #[serde(default)]
        numbers: Vec<u32>,
    }

    fn doc(yaml: &str) -> Value {
        crate::parse_document(yaml).unwrap()
    }

    #[test]
    fn a_null_field_keeps_its_default_for_every_type() {
        let v = doc(concat!(
            "text:\nnumber:\nwithDefault:\nfloat: ~\nflag: null\nlist:\nmap:\n",
            "inner:\nmaybe:\ninners:\nnumbers:\n"
        ));
        let d = decode::<Everything>(&v, "").unwrap();
        assert!(d.unknown.is_empty(), "{:?}", d.unknown);
        assert_eq!(
            d.spec,
            Everything {
                text: String::new(),
                number: 0,
                with_default: 9,
                float: 0.0,
                flag: false,
                list: vec![],
                map: Default::default(),
                inner: Inner::default(),
                maybe: None,
                inners: vec![],
                numbers: vec![],
            }
        );
    }

    #[test]
    fn a_null_inside_lists_maps_and_nested_structs_is_the_zero_value() {
        let v = doc(concat!(
            "list: [a, null, b]\nmap: {x: , y: v}\ninner: {key: , count: }\n",
            "inners: [null, {key: k}]\nnumbers: [1, ~]\n"
        ));
        let d = decode::<Everything>(&v, "").unwrap();
        assert_eq!(d.spec.list, ["a", "", "b"]);
        assert_eq!(d.spec.map.get("x").map(String::as_str), Some(""));
        assert_eq!(d.spec.map.get("y").map(String::as_str), Some("v"));
        assert_eq!(d.spec.inner, Inner::default());
        assert_eq!(
            d.spec.inners,
            [
                Inner::default(),
                Inner {
                    key: "k".into(),
                    count: 0
                }
            ]
        );
        assert_eq!(d.spec.numbers, [1, 0]);
    }

    #[test]
    fn a_null_required_field_is_reported_missing_with_its_path() {
        let err = decode::<Pool>(&doc("servers:\n  - url:\n"), "pools[0]").unwrap_err();
        assert_eq!(err.path, "pools[0].servers[0]");
        assert!(err.message.contains("missing field `url`"), "{err}");
        let err = decode::<Pool>(&doc("servers:\n"), "").unwrap_err();
        assert!(err.message.contains("missing field `servers`"), "{err}");
    }

    #[test]
    fn null_does_not_hide_wrong_types_or_unknown_keys() {
        let err = decode::<Everything>(&doc("text: [1]\n"), "f").unwrap_err();
        assert_eq!(err.path, "f.text");
        let err = decode::<Everything>(&doc("number: x\n"), "f").unwrap_err();
        assert_eq!(err.path, "f.number");
        assert!(err.message.contains("invalid type"), "{err}");
        let d = decode::<Everything>(&doc("other:\ntext: a\n"), "f").unwrap();
        assert_eq!(d.unknown, ["f.other"]);
        assert_eq!(d.spec.text, "a");
    }
}
