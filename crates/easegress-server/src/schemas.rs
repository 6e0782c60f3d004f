//! The JSON schemas of every kind this build knows, as files for editors.
//!
//! `make schemas` writes them to `docs/schemas/` (a test keeps those files equal to what the
//! spec types generate, so they cannot drift): one file per object kind and per filter kind,
//! and `easegress.json`, which accepts any object — its `kind` picks the schema — for YAML
//! editors (yaml-language-server) to complete and check Easegress YAML.

use eg_filters::FilterRegistry;
use eg_supervisor::KindRegistry;
use serde_json::{json, Value};

/// The JSON Schema dialect of the documents (the one schemars generates).
pub const SCHEMA_DIALECT: &str = "https://json-schema.org/draft/2020-12/schema";

/// Every schema file, as (path below the schema directory, document), sorted by path.
pub fn documents(filters: &FilterRegistry, kinds: &KindRegistry) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let mut names = Vec::new();
    let mut branches = Vec::new();
    let mut object_kinds: Vec<&str> = kinds.iter().map(|k| k.info().kind).collect();
    object_kinds.sort_unstable();
    for kind in object_kinds {
        let Some(schema) = eg_api::kind_schema(filters, kinds, kind) else {
            continue;
        };
        let mut then = schema.clone();
        if let Some(obj) = then.as_object_mut() {
            obj.remove("$schema");
        }
        names.push(kind);
        branches.push(json!({"if": {"properties": {"kind": {"const": kind}}}, "then": then}));
        out.push((format!("objects/{kind}.json"), schema));
    }
    for k in filters.iter() {
        out.push((format!("filters/{}.json", k.kind), (k.schema)()));
    }
    out.push((
        "easegress.json".to_string(),
        json!({
            "$schema": SCHEMA_DIALECT,
            "title": "Easegress object",
            "description": "An object of easegress-rs (and Easegress v2): its kind picks the schema of the rest.",
            "type": "object",
            "required": ["kind", "name"],
            "properties": {
                "kind": {"type": "string", "enum": names},
                "name": {"type": "string"},
            },
            "allOf": branches,
        }),
    ));
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// A document as it is written to its file: pretty JSON ending in a newline.
pub fn render(doc: &Value) -> String {
    let mut text = serde_json::to_string_pretty(doc).unwrap_or_default();
    text.push('\n');
    text
}
