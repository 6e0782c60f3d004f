//! Host objects: lazily resolved request-like data.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use eg_template::{parse_json, ElemType, Options, Template, TemplateObject, Value};

struct Header(BTreeMap<String, Vec<String>>);

impl TemplateObject for Header {
    fn type_name(&self) -> &str {
        "http.Header"
    }
    fn field(&self, name: &str) -> Option<Value> {
        Some(
            self.0
                .get(name)
                .map(Value::string_list)
                .unwrap_or(Value::Missing),
        )
    }
    fn call_method(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        match name {
            "Get" => {
                let key = args.first().and_then(|k| k.as_str()).unwrap_or("");
                Some(Ok(Value::str(
                    self.0
                        .get(key)
                        .and_then(|v| v.first())
                        .map(String::as_str)
                        .unwrap_or(""),
                )))
            }
            _ => None,
        }
    }
    fn to_value(&self) -> Option<Value> {
        Some(Value::typed_map(
            self.0
                .iter()
                .map(|(k, v)| (k.clone(), Value::string_list(v)))
                .collect(),
            ElemType::StringList,
        ))
    }
}

struct Request {
    header: Value,
    body: String,
    parsed: OnceLock<Value>,
    parses: Arc<AtomicUsize>,
}

impl TemplateObject for Request {
    fn type_name(&self) -> &str {
        "*builder.Request"
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "Header" => Some(self.header.clone()),
            "Method" => Some(Value::str("POST")),
            "Body" => Some(Value::str(&self.body)),
            "JSONBody" => Some(
                self.parsed
                    .get_or_init(|| {
                        self.parses.fetch_add(1, Ordering::SeqCst);
                        parse_json(&self.body).unwrap_or(Value::Nil)
                    })
                    .clone(),
            ),
            _ => None,
        }
    }
    fn call_method(&self, name: &str, _args: &[Value]) -> Option<Result<Value, String>> {
        match name {
            "BasicAuth" => Some(Ok(Value::list(vec![
                Value::str("alice"),
                Value::str("pw"),
                Value::Bool(true),
            ]))),
            _ => None,
        }
    }
}

fn data(parses: Arc<AtomicUsize>) -> Value {
    let mut h = BTreeMap::new();
    h.insert("X-Id".to_string(), vec!["42".to_string(), "43".to_string()]);
    let req = Request {
        header: Value::object(Header(h)),
        body: r#"{"a": {"b": 1.50}, "list": [1, 2]}"#.to_string(),
        parsed: OnceLock::new(),
        parses,
    };
    let mut m = BTreeMap::new();
    m.insert("req".to_string(), Value::object(req));
    Value::map(m)
}

fn render(text: &str, d: &Value) -> Result<String, String> {
    let t = Template::parse("t", text, &Options::default()).map_err(|e| e.to_string())?;
    t.render(d).map_err(|e| e.to_string())
}

#[test]
fn methods_fields_and_lazy_body() {
    let parses = Arc::new(AtomicUsize::new(0));
    let d = data(parses.clone());
    assert_eq!(render(r#"{{.req.Header.Get "X-Id"}}"#, &d).unwrap(), "42");
    assert_eq!(parses.load(Ordering::SeqCst), 0, "body untouched");
    assert_eq!(
        render("{{.req.JSONBody.a.b}} {{.req.JSONBody.list}}", &d).unwrap(),
        "1.50 [1 2]"
    );
    assert_eq!(
        render(r#"{{header .req.Header "X-Id"}} {{username .req}}"#, &d).unwrap(),
        "42 alice"
    );
    assert_eq!(
        render("{{.req.Header.X-Nope}}", &d).map_err(|_| ()),
        Err(())
    );
    assert_eq!(
        render(
            "{{.req.Header.Missing}} {{index .req.Header \"X-Id\" 1}}",
            &d
        )
        .unwrap(),
        "<no value> 43"
    );
    assert_eq!(
        render("{{range $k, $v := .req.Header}}{{$k}}={{$v}}{{end}}", &d).unwrap(),
        "X-Id=[42 43]"
    );
    assert_eq!(
        render("{{.req.Method | lower}} {{toJson .req.Header}}", &d).unwrap(),
        r#"post {"X-Id":["42","43"]}"#
    );
    assert_eq!(
        render("{{.req.Nope}}", &d).unwrap_err(),
        "template: t:1:6: executing \"t\" at <.req.Nope>: can't evaluate field Nope in type *builder.Request"
    );
    assert_eq!(parses.load(Ordering::SeqCst), 1, "body parsed once");
}

#[test]
fn custom_functions_and_delims() {
    let f: eg_template::FuncImpl = Arc::new(|args: &[Value]| Ok(Value::Int(args.len() as i64)));
    let opts = Options {
        left_delim: "[[".into(),
        right_delim: "]]".into(),
        funcs: vec![("count".into(), f)],
    };
    let t = Template::parse("t", "[[count 1 2 3]] {{x}}", &opts).unwrap();
    assert_eq!(t.render(&Value::Nil).unwrap(), "3 {{x}}");
}

#[test]
fn panic_function_is_an_error_and_parse_errors_have_columns() {
    let e = render(r#"{{panic "boom"}}"#, &Value::Nil).unwrap_err();
    assert_eq!(
        e,
        "template: t:1:2: executing \"t\" at <panic \"boom\">: error calling panic: boom"
    );
    let p = Template::parse("t", "x\n  {{nope}}", &Options::default())
        .err()
        .unwrap();
    assert_eq!(
        (p.line, p.message.as_str()),
        (2, "function \"nope\" not defined")
    );
    assert_eq!(
        p.go_message(),
        "template: t:2: function \"nope\" not defined"
    );
}
