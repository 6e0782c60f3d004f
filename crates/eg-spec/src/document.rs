//! YAML and JSON documents.
//!
//! Specs arrive as YAML or JSON. Both become a `serde_json::Value` tree, which is the one
//! generic form every layer works with (Easegress itself converts YAML to JSON first).

use serde_json::Value;

use crate::error::SpecError;

/// How YAML is read: as Easegress reads it, with `gopkg.in/yaml.v3` (through
/// `github.com/invopop/yaml`'s YAML-to-JSON conversion). Only `true`/`false` (also
/// `True`, `TRUE`, ...) are booleans; YAML 1.1's `y`, `n`, `yes`, `no`, `on`, `off` are
/// strings, so `body: n` is the text `n`.
pub fn yaml_options() -> serde_saphyr::Options {
    serde_saphyr::options! { strict_booleans: true }
}

/// Parses one YAML or JSON document into a JSON value.
///
/// Fails with a message carrying the line and column of the syntax error.
pub fn parse_document(text: &str) -> Result<Value, SpecError> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') {
        if let Ok(v) = serde_json::from_str::<Value>(text) {
            return Ok(v);
        }
    }
    serde_saphyr::from_str_with_options::<Value>(text, yaml_options())
        .map_err(|e| SpecError::doc(format!("invalid YAML or JSON document: {e}")))
}

/// Parses a stream of YAML documents separated by `---`, skipping empty documents.
pub fn parse_documents(text: &str) -> Result<Vec<Value>, SpecError> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        if let Ok(v) = serde_json::from_str::<Value>(text) {
            return Ok(vec![v]);
        }
    }
    let docs: Vec<Value> = serde_saphyr::from_multiple_with_options(text, yaml_options())
        .map_err(|e| SpecError::doc(format!("invalid YAML document stream: {e}")))?;
    Ok(docs.into_iter().filter(|d| !d.is_null()).collect())
}

/// Renders a JSON value as YAML (used for `Accept: yaml` answers and `-o yaml`).
pub fn to_yaml(value: &Value) -> String {
    serde_saphyr::to_string(value).unwrap_or_else(|e| format!("# cannot render as YAML: {e}\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_and_json_give_the_same_tree() {
        let y = parse_document("name: a\nkind: Pipeline\nport: 10080\nok: true\n").unwrap();
        let j = parse_document(r#"{"name":"a","kind":"Pipeline","port":10080,"ok":true}"#).unwrap();
        assert_eq!(y, j);
    }

    #[test]
    fn syntax_error_is_reported_with_position() {
        let err = parse_document("name: a\n  kind: [unclosed\n").unwrap_err();
        assert!(err.message.contains("invalid YAML"), "{err}");
        assert!(err.message.contains("line"), "{err}");
    }

    #[test]
    fn only_true_and_false_are_booleans() {
        let v = parse_document("a: n\nb: yes\nc: off\nd: true\ne: False\nf: Y\n").unwrap();
        assert_eq!(
            v,
            serde_json::json!({"a": "n", "b": "yes", "c": "off", "d": true, "e": false, "f": "Y"})
        );
        let docs = parse_documents("a: on\n---\nb: no\n").unwrap();
        assert_eq!(docs[0]["a"], "on");
        assert_eq!(docs[1]["b"], "no");
        // Written back as YAML, such strings read the same again.
        assert_eq!(parse_document(&to_yaml(&v)).unwrap(), v);
    }

    #[test]
    fn multiple_documents() {
        let docs = parse_documents("a: 1\n---\nb: 2\n---\n").unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[1]["b"], 2);
    }

    #[test]
    fn yaml_round_trip() {
        let v = parse_document("name: a\nlist: [1, 2]\n").unwrap();
        let back = parse_document(&to_yaml(&v)).unwrap();
        assert_eq!(v, back);
    }
}
