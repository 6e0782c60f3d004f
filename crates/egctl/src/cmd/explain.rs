//! `explain KIND[.field…]`: a kind's fields, their types, defaults and descriptions, read
//! from the JSON schema the server generates from its spec types (object kinds, then
//! filter kinds — `explain Proxy.pools.loadBalance`).

use serde_json::Value;

use super::{out, Ctx};
use crate::client::Method;
use crate::CmdResult;

/// Indentation of the description lines.
const INDENT: &str = "    ";

/// Prints the explanation of `target`.
pub fn explain(ctx: &Ctx, target: &str) -> CmdResult {
    let mut steps = target.split('.').filter(|s| !s.is_empty());
    let kind = steps
        .next()
        .ok_or("a kind is required, e.g. egctl explain HTTPServer.rules")?;
    let path: Vec<&str> = steps.collect();
    let (kind_name, schema) = kind_schema(ctx, kind)?;
    out(&render(&kind_name, &schema, &path)?);
    Ok(())
}

/// The schema of an object kind (name or alias) or, failing that, of a filter kind.
fn kind_schema(ctx: &Ctx, kind: &str) -> CmdResult<(String, Value)> {
    if let Ok(schema) = ctx.req_json(Method::Get, &format!("/object-kinds/{kind}/schema"), None) {
        let resources = ctx.client()?.api_resources()?;
        let name = resources
            .iter()
            .find(|r| {
                r.kind.eq_ignore_ascii_case(kind)
                    || r.name.eq_ignore_ascii_case(kind)
                    || r.aliases.iter().any(|a| a.eq_ignore_ascii_case(kind))
            })
            .map(|r| r.kind.clone())
            .unwrap_or_else(|| kind.to_string());
        return Ok((name, schema));
    }
    let filters = ctx.req_json(Method::Get, "/metadata/objects/pipeline/filters", None)?;
    let filter = filters
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .find(|f| f.eq_ignore_ascii_case(kind))
        .ok_or_else(|| format!("{kind}: no such object or filter kind"))?;
    let schema = ctx.req_json(
        Method::Get,
        &format!("/metadata/objects/pipeline/filters/{filter}/schema"),
        None,
    )?;
    Ok((filter.to_string(), schema))
}

/// The explanation of the field at `path` of `schema` (the kind itself when empty).
pub fn render(kind: &str, schema: &Value, path: &[&str]) -> CmdResult<String> {
    let mut at = schema;
    for (i, step) in path.iter().enumerate() {
        at = child(at, step).ok_or_else(|| {
            format!(
                "field {:?} does not exist in {kind}{}",
                step,
                path[..i]
                    .iter()
                    .map(|p| format!(".{p}"))
                    .collect::<String>()
            )
        })?;
    }
    let mut text = format!("KIND:     {kind}\n");
    if let Some(last) = path.last() {
        text += &format!("FIELD:    {last} <{}>\n", type_name(at));
    }
    if let Some(d) = at.get("description").and_then(Value::as_str) {
        text += &format!("\nDESCRIPTION:\n{}\n", indented(d, INDENT));
    }
    if let Some(extra) = facts(at) {
        text += &format!("{INDENT}{extra}\n");
    }
    let fields = properties(at);
    if !fields.is_empty() {
        text += "\nFIELDS:\n";
        let required = required(at);
        for (name, field) in fields {
            let mark = if required.contains(&name.as_str()) {
                " -required-"
            } else {
                ""
            };
            text += &format!("  {name}\t<{}>{mark}\n", type_name(field));
            if let Some(d) = field.get("description").and_then(Value::as_str) {
                text += &format!("{}\n", indented(d, INDENT));
            }
            if let Some(extra) = facts(field) {
                text += &format!("{INDENT}{extra}\n");
            }
            text += "\n";
        }
    }
    Ok(text)
}

/// The schema a value of `schema` actually has: through arrays and nullable alternatives.
fn concrete(schema: &Value) -> &Value {
    if let Some(items) = schema.get("items") {
        return concrete(items);
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(alts) = schema.get(key).and_then(Value::as_array) {
            if let Some(alt) = alts
                .iter()
                .find(|a| a.get("type") != Some(&Value::from("null")))
            {
                return concrete(alt);
            }
        }
    }
    schema
}

fn child<'a>(schema: &'a Value, name: &str) -> Option<&'a Value> {
    concrete(schema).get("properties")?.get(name)
}

fn properties(schema: &Value) -> Vec<(&String, &Value)> {
    concrete(schema)
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| p.iter().collect())
        .unwrap_or_default()
}

fn required(schema: &Value) -> Vec<&str> {
    concrete(schema)
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// `string`, `integer`, `[]object`, `map[string]string`, ... as kubectl users read them.
pub fn type_name(schema: &Value) -> String {
    let types: Vec<&str> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .filter(|t| *t != "null")
            .collect(),
        _ => Vec::new(),
    };
    match types.first().copied() {
        Some("array") => format!(
            "[]{}",
            schema
                .get("items")
                .map(type_name)
                .unwrap_or_else(|| "any".into())
        ),
        Some("object") => match schema.get("additionalProperties") {
            Some(v @ Value::Object(_)) => format!("map[string]{}", type_name(v)),
            _ => "object".to_string(),
        },
        Some(t) => t.to_string(),
        None => {
            for key in ["anyOf", "oneOf"] {
                if let Some(alts) = schema.get(key).and_then(Value::as_array) {
                    let names: Vec<String> = alts
                        .iter()
                        .filter(|a| a.get("type") != Some(&Value::from("null")))
                        .map(type_name)
                        .collect();
                    if !names.is_empty() {
                        return names.join("|");
                    }
                }
            }
            "any".to_string()
        }
    }
}

/// The default, allowed values and format of a field, when the schema says them.
fn facts(schema: &Value) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(d) = schema.get("default").filter(|d| !d.is_null()) {
        parts.push(format!("default: {d}"));
    }
    if let Some(e) = concrete(schema).get("enum").and_then(Value::as_array) {
        let values: Vec<String> = e.iter().map(Value::to_string).collect();
        parts.push(format!("one of: {}", values.join(", ")));
    }
    if let Some(f) = schema.get("format").and_then(Value::as_str) {
        if f == "duration" {
            parts.push("format: Go duration (300ms, 1.5s, 1h30m)".into());
        }
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

fn indented(text: &str, indent: &str) -> String {
    text.lines()
        .map(|l| format!("{indent}{l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({
            "type": "object",
            "required": ["name", "kind", "port"],
            "properties": {
                "port": {"type": ["integer", "null"], "description": "Listening port."},
                "keepAliveTimeout": {"type": ["string", "null"], "format": "duration",
                                     "description": "Idle time.", "default": "60s"},
                "rules": {"type": "array", "description": "Routing rules.", "items": {
                    "type": "object",
                    "properties": {"host": {"type": "string", "description": "Exact host."},
                                   "paths": {"type": "array", "items": {"type": "object",
                                        "properties": {"backend": {"type": "string",
                                            "description": "The pipeline."}}}}}
                }},
                "policy": {"type": "string", "enum": ["roundRobin", "random"]},
                "headers": {"type": "object", "additionalProperties": {"type": "string"}},
            }
        })
    }

    #[test]
    fn a_kind_lists_its_fields_with_types_and_required_marks() {
        let t = render("HTTPServer", &schema(), &[]).unwrap();
        assert!(t.starts_with("KIND:     HTTPServer\n"), "{t}");
        assert!(
            t.contains("  port\t<integer> -required-\n    Listening port.\n"),
            "{t}"
        );
        assert!(t.contains("  rules\t<[]object>\n"), "{t}");
        assert!(t.contains("  headers\t<map[string]string>\n"), "{t}");
        assert!(t.contains("default: \"60s\"; format: Go duration"), "{t}");
        assert!(t.contains("one of: \"roundRobin\", \"random\""), "{t}");
    }

    #[test]
    fn a_field_path_goes_through_arrays() {
        let t = render("HTTPServer", &schema(), &["rules", "paths", "backend"]).unwrap();
        assert!(t.contains("FIELD:    backend <string>\n"), "{t}");
        assert!(t.contains("DESCRIPTION:\n    The pipeline.\n"), "{t}");
        let t = render("HTTPServer", &schema(), &["rules"]).unwrap();
        assert!(t.contains("FIELDS:\n  host\t<string>\n"), "{t}");
    }

    #[test]
    fn an_unknown_field_names_where_it_was_looked_for() {
        let e = render("HTTPServer", &schema(), &["rules", "nope"]).unwrap_err();
        assert_eq!(e, "field \"nope\" does not exist in HTTPServer.rules");
    }
}
