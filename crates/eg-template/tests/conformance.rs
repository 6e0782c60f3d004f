//! Conformance table: each case was rendered by Go's text/template with
//! sprig 2.20.0 and Easegress's functions; the engine must give the same
//! output or the same error.

use eg_template::{parse_json, Options, Template};

const CASES: &str = include_str!("conformance/cases.json");

/// Runs one case; returns `Ok(output)` or `Err(go-style message)`.
fn run(template: &str, data: &str, left: &str, right: &str) -> Result<String, String> {
    let data = parse_json(data).map_err(|e| format!("bad data: {e}"))?;
    let t = Template::parse("t", template, &Options::with_delims(left, right)).map_err(|e| e.go_message())?;
    t.render(&data).map_err(|e| e.to_string())
}

#[test]
fn conformance_table() {
    let doc: serde_json::Value = serde_json::from_str(CASES).expect("cases.json parses");
    let datasets = doc.get("datasets").expect("datasets");
    let cases = doc.get("cases").and_then(|c| c.as_array()).expect("cases");
    let mut failures = Vec::new();
    for c in cases {
        let get = |k: &str| c.get(k).and_then(|v| v.as_str()).unwrap_or("");
        // Data sets are stored as raw JSON text so literals such as 1.50 survive.
        let data = datasets.get(get("data")).and_then(|d| d.as_str()).unwrap_or("null").to_string();
        let got = run(get("template"), &data, get("left"), get("right"));
        let ok = match (c.get("output").and_then(|v| v.as_str()), c.get("error").and_then(|v| v.as_str())) {
            (Some(want), _) => got.as_deref() == Ok(want),
            (None, Some(want)) => match &got {
                Err(e) => e == want,
                Ok(_) => false,
            },
            (None, None) => false,
        };
        if !ok {
            failures.push(format!(
                "{} {:?}\n   want out={:?} err={:?}\n   got  {:?}",
                get("name"),
                get("template"),
                c.get("output"),
                c.get("error"),
                got
            ));
        }
    }
    if !failures.is_empty() {
        panic!("{} of {} cases differ:\n{}", failures.len(), cases.len(), failures.join("\n"));
    }
}
