//! Rendering a typical ResponseBuilder template (headers + JSON body).
// criterion's group and main macros generate undocumented public functions.
#![allow(missing_docs)]

use std::collections::BTreeMap;
use std::sync::OnceLock;

use criterion::{criterion_group, criterion_main, Criterion};
use eg_template::{parse_json, Options, Template, TemplateObject, Value};

struct Header(BTreeMap<String, String>);

impl TemplateObject for Header {
    fn type_name(&self) -> &str {
        "http.Header"
    }
    fn field(&self, _name: &str) -> Option<Value> {
        None
    }
    fn call_method(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        (name == "Get").then(|| {
            let k = args.first().and_then(|k| k.as_str()).unwrap_or("");
            Ok(Value::str(self.0.get(k).map(String::as_str).unwrap_or("")))
        })
    }
}

struct Resp {
    header: Value,
    body: String,
    json: OnceLock<Value>,
}

impl TemplateObject for Resp {
    fn type_name(&self) -> &str {
        "*builder.Response"
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "StatusCode" => Some(Value::Int(200)),
            "Header" => Some(self.header.clone()),
            "JSONBody" => Some(
                self.json
                    .get_or_init(|| parse_json(&self.body).unwrap_or(Value::Nil))
                    .clone(),
            ),
            _ => None,
        }
    }
}

const TEMPLATE: &str = r#"statusCode: {{.resp.StatusCode}}
headers:
  X-Request-Id: [{{.req.Header.Get "X-Request-Id" | quote}}]
  Content-Type: ["application/json"]
body: |
  {"user": "{{.resp.JSONBody.user.name | jsonEscape}}", "total": {{.resp.JSONBody.total}}, "items": {{len .resp.JSONBody.items}}, "ok": {{if eq .resp.JSONBody.status "ok"}}true{{else}}false{{end}}}
"#;

const BODY: &str =
    r#"{"user": {"name": "alice", "id": 7}, "total": 12.50, "status": "ok", "items": [1, 2, 3]}"#;

fn data(pre_parsed: bool) -> Value {
    let mut h = BTreeMap::new();
    h.insert("X-Request-Id".to_string(), "abc-123".to_string());
    let header = Value::object(Header(h));
    let resp = Resp {
        header: header.clone(),
        body: BODY.to_string(),
        json: OnceLock::new(),
    };
    if pre_parsed {
        let _ = resp.field("JSONBody");
    }
    let mut req = BTreeMap::new();
    req.insert("Header".to_string(), header);
    let mut m = BTreeMap::new();
    m.insert("req".to_string(), Value::map(req));
    m.insert("resp".to_string(), Value::object(resp));
    Value::map(m)
}

fn bench(c: &mut Criterion) {
    let t = Template::parse("", TEMPLATE, &Options::default()).expect("parses");
    let warm = data(true);
    let mut out = String::with_capacity(512);
    c.bench_function("response_builder_render", |b| {
        b.iter(|| {
            out.clear();
            t.execute(&warm, &mut out).expect("renders");
        })
    });
    c.bench_function("response_builder_render_with_body_parse", |b| {
        b.iter_batched(
            || data(false),
            |d| {
                let mut o = String::with_capacity(512);
                t.execute(&d, &mut o).expect("renders");
                o
            },
            criterion::BatchSize::SmallInput,
        )
    });
    c.bench_function("response_builder_parse", |b| {
        b.iter(|| Template::parse("", TEMPLATE, &Options::default()))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
