//! YAML/JSON helpers: multi-document parsing into `serde_json::Value`,
//! YAML rendering with sorted keys (as Go's JSON→YAML conversion does),
//! and case-insensitive key lookup for server JSON.

use serde_json::{Map, Value};

/// One document of a `-f` input: its `kind`, `name` and full content.
#[derive(Debug, Clone, PartialEq)]
pub struct SpecDoc {
    /// Value of the `kind` field (required, non-empty).
    pub kind: String,
    /// Value of the `name` field (may be empty).
    pub name: String,
    /// The whole document.
    pub value: Value,
}

/// How YAML input is read: as the server (and Easegress, with `gopkg.in/yaml.v3`) reads it,
/// where only `true`/`false` are booleans and `y`, `n`, `yes`, `no`, `on`, `off` are strings.
pub fn yaml_options() -> serde_saphyr::Options {
    serde_saphyr::options! { strict_booleans: true }
}

/// Splits a YAML stream into documents (`---` separated), skipping empty
/// documents. Fails on invalid YAML or a document without `kind`, before
/// anything is sent (Easegress parses all documents first).
pub fn parse_spec_docs(input: &str) -> Result<Vec<SpecDoc>, String> {
    let docs: Vec<Value> = serde_saphyr::from_multiple_with_options(input, yaml_options())
        .map_err(|e| format!("error parsing yaml: {e}"))?;
    let mut out = Vec::new();
    for doc in docs {
        if doc.is_null() {
            continue;
        }
        if !doc.is_object() {
            return Err(format!(
                "error parsing {}: document is not a mapping",
                to_yaml(&doc).trim_end()
            ));
        }
        let kind = doc
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if kind.is_empty() {
            return Err(format!("kind is empty: {}", to_yaml(&doc).trim_end()));
        }
        let name = doc.get("name").map(scalar_string).unwrap_or_default();
        out.push(SpecDoc {
            kind,
            name,
            value: doc,
        });
    }
    Ok(out)
}

/// Parses one YAML (or JSON) document into a value.
pub fn parse_yaml(input: &str) -> Result<Value, String> {
    serde_saphyr::from_str_with_options::<Value>(input, yaml_options()).map_err(|e| e.to_string())
}

/// Renders a scalar as plain text (strings unquoted); other values as JSON.
pub fn scalar_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Returns a copy of `v` with all object keys sorted, recursively, and whole
/// floating-point numbers written as integers.
pub fn sorted(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let mut out = Map::new();
            for k in keys {
                if let Some(x) = m.get(k) {
                    out.insert(k.clone(), sorted(x));
                }
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
        Value::Number(n) => Value::Number(integral(n)),
        other => other.clone(),
    }
}

/// Largest magnitude below which a whole float is shown as an integer.
const MAX_EXACT_FLOAT: f64 = 9_007_199_254_740_992.0; // 2^53

/// Whole floats become integers (`0.0` → `0`), as Go shows JSON numbers.
fn integral(n: &serde_json::Number) -> serde_json::Number {
    match n.as_f64() {
        Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < MAX_EXACT_FLOAT => {
            serde_json::Number::from(f as i64)
        }
        _ => n.clone(),
    }
}

/// Renders a value as YAML with sorted keys; always ends with a newline.
/// Empty containers are written in flow style (`{}` / `[]`).
pub fn to_yaml(v: &Value) -> String {
    let v = sorted(v);
    let mut s = match &v {
        Value::Object(m) if m.is_empty() => "{}\n".to_string(),
        Value::Array(a) if a.is_empty() => "[]\n".to_string(),
        _ => serde_saphyr::to_string(&v).unwrap_or_else(|_| format!("{v}\n")),
    };
    if let Some(rest) = s.strip_prefix("---\n") {
        s = rest.to_string();
    }
    if !s.ends_with('\n') {
        s.push('\n');
    }
    s
}

/// Pretty JSON with two-space indentation, like Go's `json.Indent`.
pub fn to_json_pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
}

/// Looks up `key` in a JSON object comparing keys ASCII-case-insensitively
/// (Go's JSON decoding is case-insensitive; servers may use `Name` or `name`).
pub fn get_ci<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    let m = v.as_object()?;
    m.get(key).or_else(|| {
        m.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, x)| x)
    })
}

/// [`get_ci`] returning the value as a string ("" if absent or not a scalar).
pub fn str_ci(v: &Value, key: &str) -> String {
    get_ci(v, key).map(scalar_string).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn yaml_1_1_boolean_words_are_sent_as_strings() {
        let docs = parse_spec_docs("kind: Pipeline\nname: p\nbody: n\nflag: true\n").unwrap();
        assert_eq!(docs[0].value["body"], "n");
        assert_eq!(docs[0].value["flag"], true);
        assert_eq!(parse_yaml("a: off\n").unwrap()["a"], "off");
    }

    #[test]
    fn multi_document_stream_keeps_order_and_skips_empty_docs() {
        let docs = parse_spec_docs(
            "\nkind: HTTPServer\nname: hs\nport: 10080\n---\n---\nname: p0\nkind: Pipeline\nflow:\n  - filter: proxy\n",
        )
        .unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(
            (docs[0].kind.as_str(), docs[0].name.as_str()),
            ("HTTPServer", "hs")
        );
        assert_eq!(docs[0].value["port"], json!(10080));
        assert_eq!(
            (docs[1].kind.as_str(), docs[1].name.as_str()),
            ("Pipeline", "p0")
        );
        assert_eq!(docs[1].value["flow"][0]["filter"], json!("proxy"));
    }

    #[test]
    fn document_without_kind_is_rejected() {
        let err = parse_spec_docs("name: a\nkind: Pipeline\n---\nname: b\n").unwrap_err();
        assert!(err.starts_with("kind is empty"), "{err}");
    }

    #[test]
    fn invalid_yaml_is_rejected() {
        assert!(parse_spec_docs("name: [a\n").is_err());
    }

    #[test]
    fn yaml_output_is_sorted_and_quotes_ambiguous_strings() {
        let y = to_yaml(
            &json!({"name": "x", "kind": "Pipeline", "cpuPath": "", "num": "12", "b": "true"}),
        );
        assert_eq!(
            y,
            "b: \"true\"\ncpuPath: \"\"\nkind: Pipeline\nname: x\nnum: \"12\"\n"
        );
        let back: Value = parse_yaml(&y).unwrap();
        assert_eq!(back["num"], json!("12"));
    }

    #[test]
    fn nested_yaml_round_trips() {
        let v = json!({"filters": [{"name": "proxy", "pools": [{"servers": [{"url": "http://a:1"}]}]}], "flow": []});
        let y = to_yaml(&v);
        assert!(y.contains("url: http://a:1"), "{y}");
        assert_eq!(parse_yaml(&y).unwrap(), sorted(&v));
    }

    #[test]
    fn whole_floats_print_as_integers() {
        assert_eq!(
            to_yaml(&json!({"a": 0.0, "b": 1.5, "c": 12})),
            "a: 0\nb: 1.5\nc: 12\n"
        );
    }

    #[test]
    fn case_insensitive_lookup() {
        let v = json!({"Name": "m1", "clusterRole": "primary"});
        assert_eq!(str_ci(&v, "name"), "m1");
        assert_eq!(str_ci(&v, "ClusterRole"), "primary");
        assert_eq!(str_ci(&v, "missing"), "");
    }
}
