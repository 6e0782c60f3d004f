//! `diff -f FILE|-`: what `apply -f` would change, as a unified diff of the stored objects
//! against the file's, both rendered as YAML with sorted keys.
//!
//! What the server adds to a stored spec (`createdAt`, the owner label, the default
//! `version`) is left out of the stored side unless the file writes it, so an object applied
//! from a file shows no difference against that file.

use serde_json::{Map, Value};
use similar::TextDiff;

use super::{out, read_input, Ctx};
use crate::cli::DiffArgs;
use crate::client::Method;
use crate::resources::{CUSTOM_DATA_KIND, CUSTOM_DATA_KIND_KIND};
use crate::yaml::{parse_spec_docs, to_yaml};
use crate::CmdResult;

/// Lines of context around each change.
const CONTEXT_LINES: usize = 3;
/// The label the server writes on objects created through the API.
const OWNER_LABEL: &str = "easegress/owner";
/// The `version` the server writes when a spec has none.
const DEFAULT_VERSION: &str = "easegress.megaease.com/v2";

/// Prints the differences; `Ok(true)` when there are some.
pub fn diff(ctx: &Ctx, args: DiffArgs) -> CmdResult<bool> {
    let file = args
        .file
        .as_deref()
        .filter(|f| !f.is_empty())
        .ok_or("yaml file is required")?;
    let docs = parse_spec_docs(&read_input(file, "diff")?)?;
    let stored = ctx.req_json(Method::Get, "/objects", None)?;
    let stored: Vec<Value> = match stored {
        Value::Array(list) => list,
        _ => Vec::new(),
    };
    let mut changed = false;
    for doc in docs {
        if doc.kind == CUSTOM_DATA_KIND || doc.kind == CUSTOM_DATA_KIND_KIND {
            return Err(format!(
                "diff compares objects; {} {} is custom data",
                doc.kind, doc.name
            ));
        }
        let current = stored
            .iter()
            .find(|o| o.get("name").and_then(Value::as_str) == Some(doc.name.as_str()));
        let text = object_diff(&doc.kind, &doc.name, current, &doc.value);
        if !text.is_empty() {
            changed = true;
            out(&text);
        }
    }
    Ok(changed)
}

/// The unified diff of one object (empty when the file matches what is stored).
pub fn object_diff(kind: &str, name: &str, stored: Option<&Value>, file: &Value) -> String {
    let old = stored
        .map(|s| to_yaml(&comparable(s, file)))
        .unwrap_or_default();
    let new = to_yaml(file);
    if old == new {
        return String::new();
    }
    let old_label = if stored.is_some() {
        format!("{kind}/{name} (stored)")
    } else {
        "/dev/null".to_string()
    };
    TextDiff::from_lines(&old, &new)
        .unified_diff()
        .context_radius(CONTEXT_LINES)
        .header(&old_label, &format!("{kind}/{name} (file)"))
        .to_string()
}

/// The stored spec without what the server added and the file does not write.
fn comparable(stored: &Value, file: &Value) -> Value {
    let Value::Object(stored) = stored else {
        return stored.clone();
    };
    let mut out: Map<String, Value> = stored.clone();
    let file_has = |k: &str| file.get(k).is_some();
    if !file_has("createdAt") {
        out.remove("createdAt");
    }
    if !file_has("version") && out.get("version").and_then(Value::as_str) == Some(DEFAULT_VERSION) {
        out.remove("version");
    }
    let file_owner = file.get("labels").and_then(|l| l.get(OWNER_LABEL));
    if let Some(Value::Object(labels)) = out.get_mut("labels") {
        if file_owner.is_none() {
            labels.remove(OWNER_LABEL);
        }
        if labels.is_empty() && !file_has("labels") {
            out.remove("labels");
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_object_applied_from_the_file_shows_no_difference() {
        let file = json!({"name": "p", "kind": "Pipeline", "flow": [{"filter": "m"}]});
        let stored = json!({
            "name": "p", "kind": "Pipeline", "flow": [{"filter": "m"}],
            "version": DEFAULT_VERSION, "createdAt": "2026-12-04T10:00:00Z",
            "labels": {OWNER_LABEL: "user-api"},
        });
        assert_eq!(object_diff("Pipeline", "p", Some(&stored), &file), "");
    }

    #[test]
    fn a_changed_field_is_one_hunk_with_both_lines() {
        let file = json!({"name": "hs", "kind": "HTTPServer", "port": 10081});
        let stored = json!({"name": "hs", "kind": "HTTPServer", "port": 10080,
                            "labels": {OWNER_LABEL: "user-api", "team": "a"}});
        let d = object_diff("HTTPServer", "hs", Some(&stored), &file);
        assert!(
            d.starts_with("--- HTTPServer/hs (stored)\n+++ HTTPServer/hs (file)\n"),
            "{d}"
        );
        assert!(
            d.contains("\n-port: 10080\n") && d.contains("\n+port: 10081\n"),
            "{d}"
        );
        assert!(d.contains("\n-labels:\n-  team: a\n"), "{d}");
        assert!(!d.contains(OWNER_LABEL), "{d}");
    }

    #[test]
    fn a_missing_object_is_all_additions() {
        let file = json!({"name": "demo", "kind": "Pipeline"});
        let d = object_diff("Pipeline", "demo", None, &file);
        assert!(
            d.starts_with("--- /dev/null\n+++ Pipeline/demo (file)\n"),
            "{d}"
        );
        assert!(d.contains("\n+kind: Pipeline\n+name: demo\n"), "{d}");
    }
}
