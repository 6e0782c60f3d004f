//! JSON schemas of specs, generated from the types the decoders read.
//!
//! Every kind publishes the schema of its spec type, so the schema lists exactly the fields
//! the decoder knows, with serde's renames and defaults. Editors use them for completion and
//! validation (`docs/schemas/`), `egctl explain` prints them, and the admin API serves them.

use serde_json::{json, Value};

/// The JSON schema (draft 2020-12, nested types inlined) of a spec of type `T`, plus the
/// meta fields every spec carries: `name` and `kind`, both required.
pub fn spec_schema<T: schemars::JsonSchema>() -> Value {
    let settings = schemars::generate::SchemaSettings::draft2020_12().with(|s| {
        s.inline_subschemas = true;
    });
    let mut schema = settings
        .into_generator()
        .into_root_schema_for::<T>()
        .to_value();
    add_meta_fields(&mut schema);
    schema
}

/// Adds the required `name` and `kind` string properties to an object schema.
fn add_meta_fields(schema: &mut Value) {
    let Some(obj) = schema.as_object_mut() else {
        return;
    };
    let props = obj
        .entry("properties")
        .or_insert_with(|| Value::Object(Default::default()));
    if let Some(props) = props.as_object_mut() {
        props.insert("name".into(), json!({"type": "string"}));
        props.insert("kind".into(), json!({"type": "string"}));
    }
    let required = obj
        .entry("required")
        .or_insert_with(|| Value::Array(Vec::new()));
    if let Some(req) = required.as_array_mut() {
        for k in ["kind", "name"] {
            if !req.iter().any(|r| r == k) {
                req.insert(0, Value::String(k.into()));
            }
        }
    }
}

/// The value of `schema` at a dotted field path (`rules.paths.backend`): each step goes
/// into `properties`, through array `items`, and through `anyOf`/`oneOf` alternatives
/// (the nullable wrappers optional fields get). `None` when a step names no field.
pub fn field_schema<'a>(schema: &'a Value, path: &[&str]) -> Option<&'a Value> {
    let mut at = schema;
    for step in path {
        at = child(at, step)?;
    }
    Some(at)
}

/// The schema of the field `name` below `schema`, looking through arrays and alternatives.
fn child<'a>(schema: &'a Value, name: &str) -> Option<&'a Value> {
    if let Some(found) = schema.get("properties").and_then(|p| p.get(name)) {
        return Some(found);
    }
    if let Some(items) = schema.get("items") {
        if let Some(found) = child(items, name) {
            return Some(found);
        }
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(alts) = schema.get(key).and_then(Value::as_array) {
            if let Some(found) = alts.iter().find_map(|alt| child(alt, name)) {
                return Some(found);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(dead_code)]
    #[derive(schemars::JsonSchema, serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Inner {
        /// How long to wait.
        wait_time: String,
    }

    #[allow(dead_code)]
    #[derive(schemars::JsonSchema, serde::Deserialize)]
    struct Outer {
        items: Vec<Inner>,
        maybe: Option<Inner>,
    }

    #[test]
    fn the_schema_names_the_meta_fields_required() {
        let s = spec_schema::<Outer>();
        assert_eq!(s["properties"]["name"]["type"], "string");
        assert_eq!(s["properties"]["kind"]["type"], "string");
        let req = s["required"].as_array().unwrap();
        assert_eq!(&req[..2], &[json!("name"), json!("kind")]);
    }

    #[test]
    fn field_paths_go_through_arrays_and_options() {
        let s = spec_schema::<Outer>();
        let f = field_schema(&s, &["items", "waitTime"]).unwrap();
        assert_eq!(f["description"], "How long to wait.");
        assert!(field_schema(&s, &["maybe", "waitTime"]).is_some());
        assert!(field_schema(&s, &["items", "nothing"]).is_none());
    }
}
