//! Conformance table: each case was rendered by Go's text/template with
//! sprig 2.20.0 and Easegress's functions; the engine must give the same
//! output or the same error.

use eg_template::{parse_json, Options, Template};

const CASES: &str = include_str!("conformance/cases.json");

/// Cases where the engine deliberately or knowingly differs from Go 1.19
/// (the generator). For each, the reason; Go errors must still be errors
/// unless the reason is a newer-Go feature.
const KNOWN: &[(&str, &str, bool)] = &[
    (
        "c0081",
        "assignment to an undeclared variable is rejected at parse time",
        true,
    ),
    ("c0113", "{{else with}} is accepted (Go 1.23+)", false),
    (
        "c0139",
        "range over an integer is accepted (Go 1.22+)",
        false,
    ),
    (
        "c0153",
        "template recursion limit is 1000, not 100000",
        true,
    ),
    (
        "c0275",
        "%x/%X/%b on floats (hex/binary float forms) not implemented",
        false,
    ),
    ("c0285", "%x/%X/%b on floats not implemented", false),
    ("c0405", "%x/%X/%b on floats not implemented", false),
    ("c0445", "%x/%X/%b on floats not implemented", false),
    ("c0455", "%x/%X/%b on floats not implemented", false),
    (
        "c0718",
        "error location names the argument node, Go names the last node visited",
        true,
    ),
    (
        "c0843",
        "error location names the argument node, Go names the last node visited",
        true,
    ),
    (
        "c0938",
        "error location names the argument node, Go names the last node visited",
        true,
    ),
    (
        "c0767",
        "regexp syntax error text comes from the Rust regex crate",
        true,
    ),
    (
        "c0768",
        "regexp syntax error text comes from the Rust regex crate",
        true,
    ),
    (
        "c0969",
        "semver functions are registered but unsupported (the generator lacked them)",
        false,
    ),
];

/// Runs one case; returns `Ok(output)` or `Err(go-style message)`.
fn run(template: &str, data: &str, left: &str, right: &str) -> Result<String, String> {
    let data = parse_json(data).map_err(|e| format!("bad data: {e}"))?;
    let t = Template::parse("t", template, &Options::with_delims(left, right))
        .map_err(|e| e.go_message())?;
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
        let data = datasets
            .get(get("data"))
            .and_then(|d| d.as_str())
            .unwrap_or("null")
            .to_string();
        let got = run(get("template"), &data, get("left"), get("right"));
        if let Some((_, _, must_err)) = KNOWN.iter().find(|k| k.0 == get("name")) {
            if *must_err && c.get("error").is_some() && got.is_ok() {
                failures.push(format!(
                    "{} should fail like Go, got {:?}",
                    get("name"),
                    got
                ));
            }
            continue;
        }
        let ok = match (
            c.get("output").and_then(|v| v.as_str()),
            c.get("error").and_then(|v| v.as_str()),
        ) {
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
        panic!(
            "{} of {} cases differ:\n{}",
            failures.len(),
            cases.len(),
            failures.join("\n")
        );
    }
}
