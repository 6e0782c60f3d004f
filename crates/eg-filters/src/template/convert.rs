//! Conversions between JSON/YAML data and template values, and decoding of template output.

use eg_template::Value;
use serde::de::DeserializeOwned;

/// Converts stored JSON data (the context's `data`) to a template value as Go holds it:
/// integers as `int`, other numbers as `float64`, objects as `map[string]interface {}`.
pub(crate) fn json_to_value(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::Int(i)
            } else if let Some(u) = n.as_u64() {
                Value::Uint(u)
            } else {
                Value::Float(n.as_f64().unwrap_or(0.0))
            }
        }
        serde_json::Value::String(s) => Value::str(s),
        serde_json::Value::Array(a) => Value::list(a.iter().map(json_to_value).collect()),
        serde_json::Value::Object(o) => Value::map(
            o.iter()
                .map(|(k, v)| (k.clone(), json_to_value(v)))
                .collect(),
        ),
    }
}

/// Whether YAML text holds no document at all (only blanks and comments): Go's YAML
/// decoder leaves the target at its zero value then.
fn is_blank_yaml(text: &str) -> bool {
    text.lines().all(|l| {
        let t = l.trim();
        t.is_empty() || t.starts_with('#') || t == "---" || t == "..."
    })
}

/// Parses a YAML body (`YAMLBody`) into a template value.
pub(crate) fn yaml_to_value(text: &str) -> Result<Value, String> {
    Ok(json_to_value(&parse_yaml_json(text)?))
}

/// Parses YAML into a JSON tree; blank input is `null`.
pub(crate) fn parse_yaml_json(text: &str) -> Result<serde_json::Value, String> {
    if is_blank_yaml(text) {
        return Ok(serde_json::Value::Null);
    }
    if let Some(v) = super::yaml::decode(text) {
        return Ok(v);
    }
    serde_saphyr::from_str::<serde_json::Value>(text).map_err(|e| e.to_string())
}

/// Decodes a template's YAML output into `T`; blank output gives `T::default()`.
pub(crate) fn decode_output<T: DeserializeOwned + Default>(text: &str) -> Result<T, String> {
    if is_blank_yaml(text) {
        return Ok(T::default());
    }
    if let Some(v) = super::yaml::decode(text) {
        return Ok(v);
    }
    serde_saphyr::from_str::<T>(text).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Default, Deserialize)]
    struct Out {
        #[serde(default)]
        body: Option<String>,
        #[serde(default)]
        code: Option<i64>,
    }

    #[test]
    fn scalars_decode_into_strings_as_their_text() {
        let out = |t: &str| decode_output::<Out>(t).map(|o| (o.body, o.code));
        assert_eq!(out("body: yes"), Ok((Some("yes".into()), None)));
        assert_eq!(out("body: 1.50"), Ok((Some("1.50".into()), None)));
        assert_eq!(
            out("body: 123\ncode: 201"),
            Ok((Some("123".into()), Some(201)))
        );
        assert_eq!(out("body:"), Ok((None, None)));
        assert_eq!(out("  \n# only a comment\n"), Ok((None, None)));
        assert!(out("body: [1]").is_err());
        assert!(out("code: 2.5").is_err());
    }

    #[test]
    fn data_values_keep_go_types() {
        let v = json_to_value(&serde_json::json!({"i": 5, "f": 1.5, "s": "x", "n": null}));
        let Value::Map(m) = v else { panic!("a map") };
        assert!(matches!(m.get("i"), Some(Value::Int(5))));
        assert!(matches!(m.get("f"), Some(Value::Float(f)) if f == 1.5));
        assert!(matches!(m.get("n"), Some(Value::Nil)));
        assert!(matches!(
            parse_yaml_json("# none"),
            Ok(serde_json::Value::Null)
        ));
    }
}
