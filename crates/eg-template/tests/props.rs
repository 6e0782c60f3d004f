//! Property tests: arbitrary templates and data never panic.

use eg_template::{parse_json, Options, Template};
use proptest::prelude::*;

const PIECES: &[&str] = &[
    "{{",
    "}}",
    "{{-",
    "-}}",
    " ",
    ".",
    ".a",
    ".b.c",
    "$",
    "$x",
    ":=",
    "=",
    "|",
    "(",
    ")",
    "if",
    "else",
    "end",
    "range",
    "with",
    "define",
    "template",
    "block",
    "break",
    "continue",
    "\"s\"",
    "`r`",
    "'c'",
    "1",
    "-2",
    "1.5",
    "0x1F",
    "nil",
    "true",
    "len",
    "index",
    "slice",
    "printf",
    "\"%v %d %5.2f %q\"",
    "eq",
    "lt",
    "and",
    "or",
    "not",
    "print",
    "upper",
    "add",
    "div",
    "divf",
    "addf",
    "list",
    "dict",
    "set",
    "first",
    "toJson",
    "default",
    "split",
    "until",
    "repeat",
    "regexFind",
    "\"[\"",
    "substr",
    "trunc",
    "b64dec",
    "panic",
    ",",
    "/*",
    "*/",
    "text",
    "\n",
];

const DATA: &str = r#"{"a": 1.50, "b": {"c": [1, "x", null, {"d": true}]}, "e": "", "n": null}"#;

fn template() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(PIECES), 0..40).prop_map(|v| v.join(""))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn random_templates_never_panic(text in template()) {
        let data = parse_json(DATA).expect("data");
        if let Ok(t) = Template::parse("p", &text, &Options::default()) {
            let _ = t.render(&data);
        }
    }

    #[test]
    fn random_actions_never_panic(body in template()) {
        let data = parse_json(DATA).expect("data");
        let text = format!("{{{{ {body} }}}}");
        if let Ok(t) = Template::parse("p", &text, &Options::default()) {
            let _ = t.render(&data);
        }
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,60}") {
        if let Ok(t) = Template::parse("p", &text, &Options::default()) {
            let _ = t.render(&eg_template::Value::Nil);
        }
        let _ = parse_json(&text);
    }
}
