//! Tests of the template context and the four builders.

use std::any::Any;

use eg_protocols::{Body, Context, HttpResponse, DEFAULT_NAMESPACE};
use http::StatusCode;
use serde_json::json;

use super::*;
use crate::filter::{Filter, Handled};
use crate::testkit::{body_text, build, ctx, run};

fn with_body(mut c: Context, body: &str) -> Context {
    if let Some(r) = c.request_mut() {
        r.body = Body::full(body.to_string());
    }
    c
}

/// Renders `tpl` as the body of a ResponseBuilder response.
async fn render_body(tpl: &str, c: &mut Context) -> Result<String, &'static str> {
    let doc = json!({"template": format!("body: |-\n  {}\n", tpl.replace('\n', "\n  "))});
    let f = build(&responsebuilder::KIND, doc).unwrap();
    match run(f.as_ref(), c).await {
        "" => Ok(body_text(c)),
        r => Err(r),
    }
}

fn resp_header(c: &Context, name: &str) -> Vec<String> {
    c.response()
        .map(|r| {
            r.headers
                .get_all(name)
                .iter()
                .map(|v| v.to_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn request_fields_as_easegress_exposes_them() {
    let mut c = with_body(
        ctx(
            "POST",
            "/api/v1/users?id=7&name=a+b&id=8",
            &[
                ("Host", "example.com:8080"),
                ("X-Request-Id", "r-1"),
                ("X-Multi", "a"),
                ("X-Multi", "b"),
                ("Cookie", "session=abc; theme=dark"),
                ("Authorization", "Basic YWxpY2U6c2VjcmV0"),
                ("User-Agent", "curl/8"),
            ],
        ),
        r#"{"user": {"name": "alice"}, "price": 1.50, "tags": ["x", "y"]}"#,
    );
    let tpl = r#"{{.req.Method}} {{.req.URL.Path}} {{.req.URL.RawQuery}} {{.req.URL.Query.Get "id"}} {{index .req.URL.Query "id"}} {{.req.URL.Query.Get "name"}}
{{.req.Host}} {{host .req.Host}} {{port .req.Host}} [{{.req.URL.Host}}] [{{.req.URL.Scheme}}] {{.req.URL}} {{.req.URL.String}}
{{.req.Header.Get "x-request-id"}} {{index .req.Header "X-Multi"}} {{.req.Header.Values "X-Multi"}} {{header .req.Header "X-Request-Id"}} {{.req.Header.Nope}}
{{.req.Proto}} {{.req.ProtoMajor}} {{.req.ContentLength}} {{.req.RemoteAddr}} {{.req.RequestURI}} {{username .req}} {{.req.UserAgent}}
{{(.req.Cookie "theme").Value}} {{range .req.Cookies}}{{.Name}}={{.Value}};{{end}}
{{.req.JSONBody.user.name}} {{.req.JSONBody.price}} {{.req.JSONBody.tags}} {{len .req.RawBody}} {{.namespace}}
{{.req.Body}}"#;
    let out = render_body(tpl, &mut c).await.unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        "POST /api/v1/users id=7&name=a+b&id=8 7 [7 8] a b"
    );
    assert_eq!(
        lines[1],
        "example.com:8080 example.com 8080 [] [] /api/v1/users?id=7&name=a+b&id=8 /api/v1/users?id=7&name=a+b&id=8"
    );
    assert_eq!(lines[2], "r-1 [a b] [a b] r-1 <no value>");
    assert_eq!(
        lines[3],
        "HTTP/1.1 1 62 127.0.0.1:40000 /api/v1/users?id=7&name=a+b&id=8 alice curl/8"
    );
    assert_eq!(lines[4], "dark session=abc;theme=dark;");
    assert_eq!(lines[5], "alice 1.50 [x y] 62 DEFAULT");
    assert_eq!(
        lines[6],
        r#"{"user": {"name": "alice"}, "price": 1.50, "tags": ["x", "y"]}"#
    );
    // The request is whole again after the render.
    let req = c
        .get_namespace(DEFAULT_NAMESPACE)
        .unwrap()
        .request
        .as_ref()
        .unwrap();
    assert_eq!(req.header("x-request-id"), Some("r-1"));
    assert_eq!(req.path(), "/api/v1/users");
}

#[tokio::test]
async fn header_is_a_map_of_lists_and_json_keeps_numbers() {
    let mut c = with_body(
        ctx(
            "GET",
            "/",
            &[("X-A", "1"), ("Content-Type", "application/json")],
        ),
        r#"{"n": 1.50, "big": 12345678901234567890}"#,
    );
    c.request_mut()
        .unwrap()
        .headers_mut()
        .insert("host", "h.example".parse().unwrap());
    let out = render_body(
        r#"{{range $k, $v := .req.Header}}{{$k}}={{$v}};{{end}} {{toJson .req.Header}} {{.req.JSONBody.big}} {{addf .req.JSONBody.n 1}} [{{.req.Header.Get "Host"}}] {{.req.Host}}"#,
        &mut c,
    )
    .await
    .unwrap();
    assert_eq!(
        out,
        r#"Content-Type=[application/json];X-A=[1]; {"Content-Type":["application/json"],"X-A":["1"]} 12345678901234567890 2.5 [] h.example"#
    );
}

#[tokio::test]
async fn yaml_body_and_response_fields() {
    let mut c = ctx("GET", "/", &[]);
    let mut resp = HttpResponse::with_body(StatusCode::CREATED, "a: 1\nb: [x, z]\n");
    resp.headers.insert("x-up", "yes".parse().unwrap());
    c.set_response(resp);
    let out = render_body(
        r#"{{.resp.StatusCode}} {{.resp.Status}} {{.resp.Header.Get "X-Up"}} {{.resp.YAMLBody.a}} {{.resp.YAMLBody.b}} {{.responses.DEFAULT.ContentLength}}"#,
        &mut c,
    )
    .await
    .unwrap();
    assert_eq!(out, "201 201 Created yes 1 [x z] 15");
    let out = render_body(
        "{{.req.Form}} {{.req.TLS}} {{.req.Trailer}} {{.resp.Trailer}} {{.resp.Request}} {{.req.Close}} {{.namespace}}",
        &mut c,
    )
    .await
    .unwrap();
    // (Go prints a nil pointer as <nil>; the engine has only the nil interface.)
    assert_eq!(out, "map[] <no value> map[] map[] <no value> false DEFAULT");
}

#[tokio::test]
async fn a_bad_json_body_is_a_build_error() {
    let mut c = with_body(ctx("POST", "/", &[]), "not json");
    assert_eq!(
        render_body("{{.req.JSONBody.a}}", &mut c).await,
        Err(RESULT_BUILD_ERR)
    );
    let mut c = ctx("GET", "/", &[]);
    assert_eq!(
        render_body("{{.resp.StatusCode}}", &mut c).await,
        Err(RESULT_BUILD_ERR),
        "no response: nil pointer, as in Go"
    );
}

#[tokio::test]
async fn data_and_pipeline_data() {
    let mut c = ctx("GET", "/", &[]);
    c.data_mut()
        .insert("PIPELINE".into(), json!({"foo": "hello world", "n": 5}));
    let out = render_body(
        "{{.data.PIPELINE.foo}} {{.data.PIPELINE.n}} {{.data.nope}}",
        &mut c,
    )
    .await
    .unwrap();
    assert_eq!(out, "hello world 5 <no value>");
    // The data map is back in the context after the render.
    assert_eq!(c.data.as_ref().unwrap()["PIPELINE"]["n"], 5);
}

/// A body that is still a stream is read only when the template mentions a body.
#[tokio::test]
async fn bodies_are_read_only_when_the_template_uses_them() {
    let streamed = || {
        let mut c = ctx("POST", "/", &[]);
        let s = http_body_util::Full::new(bytes::Bytes::from_static(b"{\"k\": \"v\"}"));
        c.request_mut().unwrap().body = Body::Stream(eg_protocols::BoxStream::new(
            http_body_util::BodyExt::map_err(s, |never| match never {}),
        ));
        c
    };
    let f = build(
        &responsebuilder::KIND,
        json!({"template": "body: '{{.req.Method}}'"}),
    )
    .unwrap();
    let mut c = streamed();
    assert!(matches!(f.handle(&mut c), Handled::Done("")));
    assert!(!c
        .get_namespace(DEFAULT_NAMESPACE)
        .unwrap()
        .request
        .as_ref()
        .unwrap()
        .body
        .is_buffered());
    assert_eq!(body_text(&c), "POST");

    let f = build(
        &responsebuilder::KIND,
        json!({"template": "body: '{{.req.JSONBody.k}}'"}),
    )
    .unwrap();
    let mut c = streamed();
    assert!(matches!(f.handle(&mut c), Handled::Pending(_)));
    let mut c = streamed();
    assert_eq!(run(f.as_ref(), &mut c).await, "");
    assert_eq!(body_text(&c), "v");
}

#[tokio::test]
async fn parse_errors_are_spec_errors_with_line_and_column() {
    let e = build(
        &responsebuilder::KIND,
        json!({"template": "statusCode: 200\nbody: |\n  {{mergeObject .responses.a.JSONBody | toRawJson}}\n"}),
    )
    .err()
    .unwrap();
    assert_eq!(e.path, "filters[0].template");
    assert_eq!(
        e.message,
        "template of filter \"f\" does not parse: line 3:41: function \"toRawJson\" not defined"
    );
    let e = build(&requestbuilder::KIND, json!({"template": "{{if .req}}x"}))
        .err()
        .unwrap();
    assert_eq!(e.path, "filters[0].template");
    assert!(e.message.contains("line 1:"), "{}", e.message);
    for kind in [
        &requestadaptor_kind(),
        &responseadaptor_kind(),
        &resultbuilder::KIND,
    ] {
        let e = build(kind, json!({"template": "{{.x"})).err().unwrap();
        assert_eq!(e.path, "filters[0].template", "{}", kind.kind);
    }
    let e = build(
        &databuilder::KIND,
        json!({"dataKey": "k", "template": "a\n{{end}}"}),
    )
    .err()
    .unwrap();
    assert!(e.message.contains("line 2:"), "{}", e.message);
    assert!(e.message.ends_with("unexpected {{end}}"), "{}", e.message);
}

fn requestadaptor_kind() -> crate::FilterKind {
    crate::requestadaptor::KIND
}

fn responseadaptor_kind() -> crate::FilterKind {
    crate::responseadaptor::KIND
}

#[test]
fn custom_delimiters() {
    let f = build(
        &responsebuilder::KIND,
        json!({"template": "body: '[[.req.Method]] {{x}}'", "leftDelim": "[[", "rightDelim": "]]"}),
    )
    .unwrap();
    let mut c = ctx("DELETE", "/", &[]);
    assert!(matches!(f.handle(&mut c), Handled::Done("")));
    assert_eq!(body_text(&c), "DELETE {{x}}");
}

#[test]
fn source_namespace_xor_template_and_protocol() {
    for kind in [&requestbuilder::KIND, &responsebuilder::KIND] {
        let e = build(kind, json!({})).err().unwrap();
        assert_eq!(e.message, "sourceNamespace or template must be specified");
        let e = build(kind, json!({"sourceNamespace": "DEFAULT", "template": "x"}))
            .err()
            .unwrap();
        assert_eq!(
            e.message,
            "sourceNamespace and template cannot be specified at the same time"
        );
        let e = build(
            kind,
            json!({"sourceNamespace": "DEFAULT", "protocol": "mqtt"}),
        )
        .err()
        .unwrap();
        assert_eq!(e.path, "filters[0].protocol");
        assert!(build(
            kind,
            json!({"sourceNamespace": "DEFAULT", "protocol": "http"})
        )
        .is_ok());
    }
    assert_eq!(requestbuilder::KIND.results, &["buildErr"]);
    assert_eq!(responsebuilder::KIND.results, &["buildErr"]);
    assert_eq!(databuilder::KIND.results, &["buildErr"]);
}

// ---------------------------------------------------------------------------
// RequestBuilder
// ---------------------------------------------------------------------------

#[tokio::test]
async fn request_builder_builds_from_the_template() {
    let tpl = "method: POST\nurl: /built?src={{.req.Method}}\nheaders:\n  X-Built:\n  - \"yes\"\n  - again\nbody: 'built from {{.req.URL.Path}}'\n";
    let f = build(&requestbuilder::KIND, json!({"template": tpl})).unwrap();
    let mut c = ctx("GET", "/orig", &[]);
    assert_eq!(run(f.as_ref(), &mut c).await, "");
    let req = c.request().unwrap();
    assert_eq!(req.method(), "POST");
    assert_eq!(req.uri().to_string(), "/built?src=GET");
    let built: Vec<_> = req.headers().get_all("x-built").iter().collect();
    assert_eq!(built, ["yes", "again"]);
    assert_eq!(req.body.bytes().unwrap(), "built from /orig");
    assert_eq!(req.header("content-length"), Some("16"));
}

#[tokio::test]
async fn request_builder_doc_example_and_defaults() {
    // docs/07.Reference/7.02.Filters.md#requestbuilder, unchanged.
    let tpl = "method: get\nurl: http://127.0.0.1:8080\nheaders:\n  X-Mock-Header:\n  - mock-value\nbody: \"this is the body\"\n";
    let f = build(
        &requestbuilder::KIND,
        json!({"protocol": "http", "template": tpl}),
    )
    .unwrap();
    let mut c = ctx("PUT", "/x", &[]);
    assert_eq!(run(f.as_ref(), &mut c).await, "");
    let req = c.request().unwrap();
    assert_eq!(req.method(), "GET");
    assert_eq!(req.uri().to_string(), "http://127.0.0.1:8080/");
    assert_eq!(req.header("host"), Some("127.0.0.1:8080"));
    assert_eq!(req.header("x-mock-header"), Some("mock-value"));
    assert_eq!(req.body.bytes().unwrap(), "this is the body");

    // An empty result is GET / with no body; the built request has no client address.
    let f = build(&requestbuilder::KIND, json!({"template": "# nothing"})).unwrap();
    let mut c = ctx("PUT", "/x", &[]);
    assert_eq!(run(f.as_ref(), &mut c).await, "");
    assert_eq!(c.request().unwrap().method(), "GET");
    assert_eq!(c.request().unwrap().uri().to_string(), "/");
    let out = render_body("[{{.req.RemoteAddr}}] [{{.req.RequestURI}}]", &mut c).await;
    assert_eq!(out.unwrap(), "[] []");
}

#[tokio::test]
async fn request_builder_form_data() {
    let tpl = "url: /upload\nmethod: POST\nformData:\n  name:\n    value: alice\n  file:\n    fileName: a.txt\n    value: content\n";
    let f = build(&requestbuilder::KIND, json!({"template": tpl})).unwrap();
    let mut c = ctx("GET", "/", &[]);
    assert_eq!(run(f.as_ref(), &mut c).await, "");
    let req = c.request().unwrap();
    let ct = req.header("content-type").unwrap().to_string();
    let boundary = ct.strip_prefix("multipart/form-data; boundary=").unwrap();
    let body = String::from_utf8(req.body.bytes().unwrap().to_vec()).unwrap();
    assert_eq!(
        body,
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\nContent-Type: application/octet-stream\r\n\r\ncontent\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nalice\r\n--{boundary}--\r\n"
        )
    );
}

#[tokio::test]
async fn request_builder_invalid_output_is_build_err() {
    for tpl in [
        "method: FETCH",
        "url: 'ftp://x/y'",
        "url: 'relative/path'",
        "url: \"/a\\tb\"",
        "headers:\n  X-A: not-a-list",
        "headers:\n  'bad name': [v]",
        "{{.req.Nope}}",
        "method: [a",
    ] {
        let f = build(&requestbuilder::KIND, json!({"template": tpl})).unwrap();
        let mut c = ctx("GET", "/keep", &[]);
        assert_eq!(run(f.as_ref(), &mut c).await, RESULT_BUILD_ERR, "{tpl}");
        assert_eq!(c.request().unwrap().path(), "/keep", "{tpl}");
    }
    // Spaces are escaped as Go would send them.
    let f = build(
        &requestbuilder::KIND,
        json!({"template": "url: /a b?q=x y"}),
    )
    .unwrap();
    let mut c = ctx("GET", "/", &[]);
    assert_eq!(run(f.as_ref(), &mut c).await, "");
    assert_eq!(c.request().unwrap().uri().to_string(), "/a%20b?q=x%20y");
}

#[tokio::test]
async fn request_builder_copies_a_namespace() {
    let f = build(&requestbuilder::KIND, json!({"sourceNamespace": "DEFAULT"})).unwrap();
    let mut c = with_body(ctx("POST", "/api/agg?x=1", &[("X-A", "1")]), "payload");
    c.use_namespace("demo1");
    assert_eq!(run(f.as_ref(), &mut c).await, "");
    let copy = c.request().unwrap();
    assert_eq!(copy.uri().to_string(), "/api/agg?x=1");
    assert_eq!(copy.header("x-a"), Some("1"));
    assert_eq!(copy.body.bytes().unwrap(), "payload");
    // Copying into the source namespace itself, or from a namespace without a request,
    // changes nothing.
    c.use_namespace(DEFAULT_NAMESPACE);
    assert_eq!(run(f.as_ref(), &mut c).await, "");
    let g = build(&requestbuilder::KIND, json!({"sourceNamespace": "none"})).unwrap();
    c.use_namespace("demo2");
    assert_eq!(run(g.as_ref(), &mut c).await, "");
    assert!(c.request().is_none());
}

// ---------------------------------------------------------------------------
// ResponseBuilder
// ---------------------------------------------------------------------------

#[tokio::test]
async fn response_builder_builds_status_headers_body() {
    // docs/07.Reference/7.02.Filters.md#responsebuilder, unchanged.
    let tpl =
        "statusCode: 200\nheaders:\n  X-Mock-Header:\n  - mock-value\nbody: \"this is the body\"\n";
    let f = build(
        &responsebuilder::KIND,
        json!({"protocol": "http", "template": tpl}),
    )
    .unwrap();
    let mut c = ctx("GET", "/", &[]);
    assert_eq!(run(f.as_ref(), &mut c).await, "");
    assert_eq!(c.response().unwrap().status, StatusCode::OK);
    assert_eq!(resp_header(&c, "x-mock-header"), ["mock-value"]);
    assert_eq!(resp_header(&c, "content-length"), ["16"]);
    assert_eq!(body_text(&c), "this is the body");

    // docs/02.Tutorials/2.3.Pipeline-Explained.md#built-in-filter-end, unchanged.
    let f = build(
        &responsebuilder::KIND,
        json!({"template": "statusCode: 400\nbody: the request is invalid.\n"}),
    )
    .unwrap();
    let mut c = ctx("GET", "/", &[]);
    assert_eq!(run(f.as_ref(), &mut c).await, "");
    assert_eq!(c.response().unwrap().status, StatusCode::BAD_REQUEST);
    assert_eq!(body_text(&c), "the request is invalid.");

    // Nothing rendered: 200 with an empty body.
    let f = build(&responsebuilder::KIND, json!({"template": "{{/* */}}"})).unwrap();
    let mut c = ctx("GET", "/", &[]);
    assert_eq!(run(f.as_ref(), &mut c).await, "");
    assert_eq!(c.response().unwrap().status, StatusCode::OK);
    assert_eq!(resp_header(&c, "content-length"), ["0"]);
}

#[tokio::test]
async fn response_builder_bad_status_is_build_err() {
    for tpl in [
        "statusCode: 199",
        "statusCode: 600",
        "statusCode: -1",
        "statusCode: abc",
        "statusCode: {{.req.Method}}",
        "headers:\n  X-A: [\"a\\nb\"]",
    ] {
        let f = build(&responsebuilder::KIND, json!({"template": tpl})).unwrap();
        let mut c = ctx("GET", "/", &[]);
        assert_eq!(run(f.as_ref(), &mut c).await, RESULT_BUILD_ERR, "{tpl}");
        assert!(c.response().is_none(), "{tpl}");
    }
    let f = build(
        &responsebuilder::KIND,
        json!({"template": "statusCode: 599"}),
    )
    .unwrap();
    let mut c = ctx("GET", "/", &[]);
    assert_eq!(run(f.as_ref(), &mut c).await, "");
    assert_eq!(c.response().unwrap().status.as_u16(), 599);
}

#[tokio::test]
async fn response_builder_copies_a_namespace() {
    let f = build(&responsebuilder::KIND, json!({"sourceNamespace": "demo"})).unwrap();
    let mut c = ctx("GET", "/", &[]);
    c.use_namespace("demo");
    let mut r = HttpResponse::with_body(StatusCode::ACCEPTED, "from demo");
    r.headers.insert("x-demo", "1".parse().unwrap());
    c.set_response(r);
    c.use_namespace(DEFAULT_NAMESPACE);
    assert_eq!(run(f.as_ref(), &mut c).await, "");
    assert_eq!(c.response().unwrap().status, StatusCode::ACCEPTED);
    assert_eq!(resp_header(&c, "x-demo"), ["1"]);
    assert_eq!(body_text(&c), "from demo");
}

// ---------------------------------------------------------------------------
// API aggregation across namespaces
// ---------------------------------------------------------------------------

/// Stands in for a Proxy: answers the request of the active namespace with a JSON body
/// chosen by namespace (or 503 for `down`).
struct FakeBackend;

impl Filter for FakeBackend {
    fn handle<'a>(&'a self, ctx: &'a mut Context) -> Handled<'a> {
        assert!(
            ctx.request().is_some(),
            "the namespace got a copy of the request"
        );
        let (status, body) = match ctx.namespace() {
            "demo1" => (200, r#"{"mega":"ease"}"#),
            "demo2" => (200, r#"{"hello":"world"}"#),
            "demo3" => (200, r#"{"hello":"new world"}"#),
            _ => (503, ""),
        };
        let mut r = HttpResponse::with_body(StatusCode::from_u16(status).unwrap(), body);
        r.headers
            .insert("content-type", "application/json".parse().unwrap());
        ctx.set_response(r);
        Handled::Done("")
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Runs the tutorial's flow: copy the request into each namespace, call each backend in
/// its namespace, then build the response in DEFAULT.
async fn aggregate(namespaces: &[&str], template: &str) -> Context {
    let copy = build(&requestbuilder::KIND, json!({"sourceNamespace": "DEFAULT"})).unwrap();
    let respond = build(&responsebuilder::KIND, json!({"template": template})).unwrap();
    let mut c = ctx("GET", "/api/agg", &[]);
    for ns in namespaces {
        c.use_namespace(ns);
        assert_eq!(run(copy.as_ref(), &mut c).await, "");
    }
    for ns in namespaces {
        c.use_namespace(ns);
        assert_eq!(run(&FakeBackend, &mut c).await, "");
    }
    c.use_namespace(DEFAULT_NAMESPACE);
    assert_eq!(run(respond.as_ref(), &mut c).await, "");
    c
}

#[tokio::test]
async fn api_aggregation_simple() {
    // docs/02.Tutorials/2.3.Pipeline-Explained.md, Example 1, unchanged.
    let tpl = "statusCode: 200\nbody: |\n  [{{.responses.demo1.Body}}, {{.responses.demo2.Body}}, {{.responses.demo3.Body}}]\n";
    let c = aggregate(&["demo1", "demo2", "demo3"], tpl).await;
    assert_eq!(
        body_text(&c),
        "[{\"mega\":\"ease\"}, {\"hello\":\"world\"}, {\"hello\":\"new world\"}]\n"
    );
}

#[tokio::test]
async fn api_aggregation_merges_json_bodies() {
    // Example 2 with `toJson`: sprig 2.20.0 has no `toRawJson`.
    let tpl = "statusCode: 200\nbody: |\n  {{mergeObject .responses.demo1.JSONBody .responses.demo2.JSONBody .responses.demo3.JSONBody | toJson}}\n";
    let c = aggregate(&["demo1", "demo2", "demo3"], tpl).await;
    let body: serde_json::Value = serde_json::from_str(&body_text(&c)).unwrap();
    assert_eq!(body, json!({"mega": "ease", "hello": "new world"}));
    assert_eq!(c.response().unwrap().status, StatusCode::OK);
}

#[tokio::test]
async fn api_aggregation_handles_failures() {
    // Example 3, unchanged: responses that are not 200 are left out.
    let tpl = r#"statusCode: {{$code := 503}}{{range $resp := .responses}}{{if eq $resp.StatusCode 200}}{{$code = 200}}{{break}}{{end}}{{end}}{{$code}}
body: |
  {{$first := true -}}
  [{{range $resp := .responses -}}
    {{if eq $resp.StatusCode 200 -}}
      {{if not $first}},{{end}}{{$resp.Body}}{{$first = false -}}
    {{- end}}
  {{- end}}]
"#;
    let c = aggregate(&["demo1", "down", "demo2"], tpl).await;
    assert_eq!(c.response().unwrap().status, StatusCode::OK);
    assert_eq!(
        body_text(&c),
        "[{\"mega\":\"ease\"},{\"hello\":\"world\"}]\n"
    );
    let c = aggregate(&["down"], tpl).await;
    assert_eq!(
        c.response().unwrap().status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(body_text(&c), "[]\n");
}

// ---------------------------------------------------------------------------
// ResultBuilder and DataBuilder
// ---------------------------------------------------------------------------

#[tokio::test]
async fn result_builder_picks_results() {
    assert_eq!(
        resultbuilder::KIND.results,
        &[
            "result0", "result1", "result2", "result3", "result4", "result5", "result6", "result7",
            "result8", "result9", "buildErr", "unknown"
        ]
    );
    // docs/07.Reference/7.02.Filters.md#resultbuilder, unchanged.
    let doc = "{{- if .requests.DEFAULT.JSONBody.image}}result1{{else}}result2{{end -}}\n";
    let f = build(&resultbuilder::KIND, json!({"template": doc})).unwrap();
    let mut c = with_body(ctx("POST", "/", &[]), r#"{"image": "a.png"}"#);
    assert_eq!(run(f.as_ref(), &mut c).await, "result1");
    let mut c = with_body(ctx("POST", "/", &[]), r#"{"text": "hi"}"#);
    assert_eq!(run(f.as_ref(), &mut c).await, "result2");
    let mut c = with_body(ctx("POST", "/", &[]), "not json");
    assert_eq!(run(f.as_ref(), &mut c).await, "buildErr");

    for (tpl, want) in [
        ("", ""),
        ("{{if false}}result0{{end}}", ""),
        ("result9", "result9"),
        ("'result0'", "result0"),
        ("result10", "unknown"),
        ("7", "unknown"),
        ("[result1]", "buildErr"),
        ("{{fail \"no\"}}", "buildErr"),
    ] {
        let f = build(&resultbuilder::KIND, json!({"template": tpl})).unwrap();
        let mut c = ctx("GET", "/", &[]);
        assert_eq!(run(f.as_ref(), &mut c).await, want, "{tpl}");
    }
}

#[tokio::test]
async fn data_builder_stores_yaml_for_later_filters() {
    let e = build(&databuilder::KIND, json!({"template": "x"}))
        .err()
        .unwrap();
    assert_eq!(
        (e.path.as_str(), e.message.as_str()),
        ("filters[0].dataKey", "dataKey must be specified")
    );
    let e = build(&databuilder::KIND, json!({"dataKey": "k"}))
        .err()
        .unwrap();
    assert_eq!(e.path, "filters[0].template");

    let f = build(
        &databuilder::KIND,
        json!({"dataKey": "user", "template": "name: {{.req.JSONBody.name}}\nage: {{.req.JSONBody.age}}\ntags: [a, b]\n"}),
    )
    .unwrap();
    let mut c = with_body(ctx("POST", "/", &[]), r#"{"name": "bob", "age": 42}"#);
    assert_eq!(run(f.as_ref(), &mut c).await, "");
    assert_eq!(
        c.data.as_ref().unwrap()["user"],
        json!({"name": "bob", "age": 42, "tags": ["a", "b"]})
    );
    let out = render_body(
        "{{.data.user.name}}/{{.data.user.age}}/{{index .data.user.tags 1}}",
        &mut c,
    )
    .await
    .unwrap();
    assert_eq!(out, "bob/42/b");

    let f = build(
        &databuilder::KIND,
        json!({"dataKey": "k", "template": "a: [1"}),
    )
    .unwrap();
    let mut c = ctx("GET", "/", &[]);
    assert_eq!(run(f.as_ref(), &mut c).await, RESULT_BUILD_ERR);
}

/// A stream of `n` chunks of `size` bytes of `b'a'`.
struct Chunks {
    left: usize,
    size: usize,
}

impl http_body::Body for Chunks {
    type Data = bytes::Bytes;
    type Error = eg_protocols::BodyError;
    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<bytes::Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if this.left == 0 {
            return std::task::Poll::Ready(None);
        }
        this.left -= 1;
        std::task::Poll::Ready(Some(Ok(http_body::Frame::data(bytes::Bytes::from(
            vec![b'a'; this.size],
        )))))
    }
}

fn streamed_ctx(chunks: usize, size: usize) -> Context {
    let mut c = ctx("POST", "/", &[]);
    c.request_mut().unwrap().body =
        Body::Stream(eg_protocols::BoxStream::new(Chunks { left: chunks, size }));
    c
}

#[tokio::test]
async fn bodies_over_the_limit_stay_streams() {
    // 5 MiB: more than BODY_BUFFER_LIMIT. The template sees Easegress's placeholder and
    // the body still reaches whoever reads it next, whole.
    let mut c = streamed_ctx(80, 64 * 1024);
    let out = render_body("{{.req.Body}}", &mut c).await.unwrap();
    assert_eq!(out, "the body of request \"DEFAULT\" is a stream");
    let req = c
        .get_namespace_mut(DEFAULT_NAMESPACE)
        .unwrap()
        .request
        .as_mut()
        .unwrap();
    assert_eq!(req.body.buffer(None).await.unwrap().len(), 80 * 64 * 1024);

    // Such a body cannot be copied into another namespace.
    let f = build(&requestbuilder::KIND, json!({"sourceNamespace": "DEFAULT"})).unwrap();
    let mut c = streamed_ctx(80, 64 * 1024);
    c.use_namespace("copy");
    assert_eq!(run(f.as_ref(), &mut c).await, RESULT_BUILD_ERR);
    // A small one is read and copied.
    let mut c = streamed_ctx(2, 10);
    c.use_namespace("copy");
    assert_eq!(run(f.as_ref(), &mut c).await, "");
    assert_eq!(c.request().unwrap().body.bytes().unwrap().len(), 20);
    let src = c
        .get_namespace(DEFAULT_NAMESPACE)
        .unwrap()
        .request
        .as_ref()
        .unwrap();
    assert_eq!(src.body.bytes().unwrap().len(), 20);
}
