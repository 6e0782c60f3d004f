//! Output formats (`-o default|yaml|json`), the `describe` layout and ages.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::yaml::{to_json_pretty, to_yaml};

/// `-o/--output` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputFormat {
    /// Tables and descriptions.
    #[default]
    Default,
    /// YAML documents.
    Yaml,
    /// Indented JSON.
    Json,
}

impl OutputFormat {
    /// Parses `default`, `yaml` or `json`; anything else is the Easegress error.
    pub fn parse(s: &str) -> Result<OutputFormat, String> {
        match s {
            "default" => Ok(OutputFormat::Default),
            "yaml" => Ok(OutputFormat::Yaml),
            "json" => Ok(OutputFormat::Json),
            other => Err(format!(
                "unsupported output format: {other}, only support (yaml, json and default)"
            )),
        }
    }
}

/// Renders a server answer for printing: indented JSON with `-o json`,
/// YAML (sorted keys) otherwise, as Easegress's `PrintBody` does.
pub fn render_body(v: &Value, format: OutputFormat) -> String {
    match format {
        OutputFormat::Json => format!("{}\n", to_json_pretty(v)),
        _ => to_yaml(v),
    }
}

/// Longest value line printed by `describe` before it is cut (without `-v`).
const DESCRIBE_CUT: usize = 50;

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

fn print_kv(out: &mut String, key: &str, v: &Value, verbose: bool) {
    let text = to_yaml(v);
    let lines: Vec<&str> = text
        .strip_suffix('\n')
        .unwrap_or(&text)
        .split('\n')
        .collect();
    if lines.len() == 1 {
        let line = lines[0];
        let shown = if verbose || line.chars().count() < DESCRIBE_CUT {
            line.to_string()
        } else {
            line.chars().take(DESCRIBE_CUT).collect::<String>() + "..."
        };
        out.push_str(&format!("{}: {}\n", capitalize(key), shown));
        return;
    }
    out.push_str(&format!(
        "{}:\n{}\n",
        capitalize(key),
        "=".repeat(key.chars().count() + 1)
    ));
    for line in lines {
        out.push_str(&format!("  {line}\n"));
    }
}

/// The `describe` layout of Easegress (`PrintMapInterface`): keys get their
/// first letter lowered; `fronts` keys first (an empty entry prints a blank
/// line after a present group), then the other keys sorted, then `backs`
/// after a blank line. Single-line values print as `Key: value`, others as a
/// `Key:` header, an `=` underline and the YAML indented by two spaces.
/// Several maps are separated by `\n\n---\n\n`.
pub fn format_map_interface(
    maps: &[Value],
    fronts: &[&str],
    backs: &[&str],
    verbose: bool,
) -> String {
    let mut out = String::new();
    for (i, m) in maps.iter().enumerate() {
        let Some(obj) = m.as_object() else { continue };
        let spec: Vec<(String, &Value)> = obj.iter().map(|(k, v)| (lower_first(k), v)).collect();
        let get = |k: &str| spec.iter().find(|(key, _)| key == k).map(|(_, v)| *v);
        let mut front_flag = false;
        for f in fronts {
            if f.is_empty() && front_flag {
                out.push('\n');
            }
            match get(f) {
                Some(v) => {
                    front_flag = true;
                    print_kv(&mut out, f, v, verbose);
                }
                None => front_flag = false,
            }
        }
        let mut rest: Vec<&(String, &Value)> = spec
            .iter()
            .filter(|(k, _)| !fronts.contains(&k.as_str()) && !backs.contains(&k.as_str()))
            .collect();
        rest.sort_by(|a, b| a.0.cmp(&b.0));
        for (k, v) in rest {
            print_kv(&mut out, k, v, verbose);
        }
        let mut back_flag = false;
        for b in backs {
            if let Some(v) = get(b) {
                if !back_flag {
                    out.push('\n');
                    back_flag = true;
                }
                print_kv(&mut out, b, v, verbose);
            }
        }
        if maps.len() > 1 && i != maps.len() - 1 {
            out.push_str("\n\n---\n\n");
        }
    }
    out
}

/// Go-style most significant unit of a duration: `3d`, `5h`, `2m`, `7s`, `0s`.
pub fn duration_most_significant_unit(secs: f64) -> String {
    const MINUTE: f64 = 60.0;
    const HOUR: f64 = 60.0 * MINUTE;
    const DAY: f64 = 24.0 * HOUR;
    for (unit, len) in [("d", DAY), ("h", HOUR), ("m", MINUTE), ("s", 1.0)] {
        let n = secs / len;
        if n >= 1.0 {
            return format!("{}{unit}", n.round());
        }
    }
    "0s".into()
}

/// Age of an RFC 3339 timestamp (`unknown` when it does not parse).
pub fn age_since(ts: &str) -> String {
    match DateTime::parse_from_rfc3339(ts) {
        Ok(t) => {
            let d = Utc::now().signed_duration_since(t.with_timezone(&Utc));
            duration_most_significant_unit(d.num_milliseconds().max(0) as f64 / 1000.0)
        }
        Err(_) => "unknown".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn output_format_parse() {
        assert_eq!(OutputFormat::parse("yaml"), Ok(OutputFormat::Yaml));
        assert!(OutputFormat::parse("xml")
            .unwrap_err()
            .starts_with("unsupported output format: xml"));
    }

    #[test]
    fn describe_layout() {
        let spec = json!({
            "name": "p1", "kind": "Pipeline",
            "filters": [{"name": "proxy", "kind": "Proxy"}],
            "allStatus": [{"node": "m1", "status": {"health": "ok"}}],
            "zeta": 1, "Alpha": "x"
        });
        let out = format_map_interface(
            &[spec],
            &["name", "kind", "version", "", "flow", "", "filters", ""],
            &["allStatus"],
            false,
        );
        let expected = "Name: p1\nKind: Pipeline\nFilters:\n========\n  - kind: Proxy\n    name: proxy\n\nAlpha: x\nZeta: 1\n\nAllStatus:\n==========\n  - node: m1\n    status:\n      health: ok\n";
        assert_eq!(out, expected);
    }

    #[test]
    fn describe_cuts_long_lines_and_separates_maps() {
        let long = "x".repeat(60);
        let out = format_map_interface(
            &[json!({"name": long}), json!({"name": "b"})],
            &["name"],
            &[],
            false,
        );
        assert!(
            out.starts_with(&format!("Name: {}...\n", "x".repeat(50))),
            "{out}"
        );
        assert!(out.ends_with("\n\n---\n\nName: b\n"), "{out}");
    }

    #[test]
    fn durations() {
        assert_eq!(duration_most_significant_unit(0.5), "0s");
        assert_eq!(duration_most_significant_unit(59.0), "59s");
        assert_eq!(duration_most_significant_unit(120.0), "2m");
        assert_eq!(duration_most_significant_unit(3.0 * 86400.0), "3d");
        assert_eq!(age_since("garbage"), "unknown");
    }
}
