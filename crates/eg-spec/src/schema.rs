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

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(dead_code)]
    #[derive(schemars::JsonSchema, serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Outer {
        /// How long to wait.
        wait_time: String,
    }

    #[test]
    fn the_schema_names_the_meta_fields_required() {
        let s = spec_schema::<Outer>();
        assert_eq!(s["properties"]["name"]["type"], "string");
        assert_eq!(s["properties"]["kind"]["type"], "string");
        assert_eq!(
            s["properties"]["waitTime"]["description"],
            "How long to wait."
        );
        let req = s["required"].as_array().unwrap();
        assert_eq!(&req[..2], &[json!("name"), json!("kind")]);
    }
}
