use bytes::Bytes;
use eg_protocols::{Body, BodyError, BoxStream, HttpResponse};
use http_body_util::BodyExt;
use serde_json::json;

use super::*;
use crate::testkit::{body_text, build, ctx, ctx_from, filter_spec, run, supervisor};

/// Builds an `OPAFilter` from `policy` and the other fields in `extra`.
fn opa(policy: &str, extra: Value) -> Box<dyn Filter> {
    let mut doc = extra;
    doc["policy"] = Value::from(policy);
    build(&KIND, doc).unwrap()
}

/// The status, result and `x-eg-opa-error` header after running `f` on `c`.
async fn outcome(f: &dyn Filter, c: &mut Context) -> (u16, &'static str, Option<String>) {
    let result = run(f, c).await;
    let resp = c.response().expect("the filter always leaves a response");
    let err = resp
        .headers
        .get(&OPA_ERROR_HEADER)
        .map(|v| v.to_str().unwrap().to_string());
    (resp.status.as_u16(), result, err)
}

fn with_body(method: &str, path: &str, headers: &[(&str, &str)], body: Body) -> Context {
    let mut c = ctx(method, path, headers);
    c.request_mut().unwrap().body = body;
    c
}

/// A streamed request body of `chunks`, broken off at the end when `broken`.
fn stream(chunks: Vec<&'static str>, broken: bool) -> Body {
    let (tx, body) = eg_testkit::channel_body::<BodyError>();
    for c in chunks {
        tx.send(Ok(Bytes::from_static(c.as_bytes()))).unwrap();
    }
    if broken {
        tx.send(Err(BodyError::Io("peer went away".into())))
            .unwrap();
    }
    Body::Stream(BoxStream::new(body))
}

// Easegress's opafilter_test.go, case by case: the same policies, requests and answers.

#[tokio::test]
async fn easegress_allow_and_deny() {
    let allow = opa(
        "     \n                        package http\n\t\t\t\t\t\tallow = true",
        json!({}),
    );
    let mut c = ctx("GET", "https://example.com/", &[]);
    assert_eq!(outcome(&*allow, &mut c).await, (200, "", None));

    let deny = opa(
        "\n\t\t\t\t\t\tpackage http\n\t\t\t\t\t\tallow = false",
        json!({}),
    );
    let mut c = ctx("GET", "https://example.com/", &[]);
    assert_eq!(
        outcome(&*deny, &mut c).await,
        (403, RESULT_OPA_DENIED, None)
    );
    assert_eq!(body_text(&c), "", "a denial sets only the status");

    let status = opa("package http\nallow = false", json!({"defaultStatus": 500}));
    let mut c = ctx("GET", "/", &[]);
    assert_eq!(
        outcome(&*status, &mut c).await,
        (500, RESULT_OPA_DENIED, None)
    );
}

const PATH_POLICY: &str = r#"
    package http
    default allow = false

    allow {
        input.request.path_parts[0] == "allowed"
    }
"#;

#[tokio::test]
async fn easegress_allow_and_deny_with_path() {
    let f = opa(PATH_POLICY, json!({}));
    let mut c = ctx("GET", "https://example.com/allowed", &[]);
    assert_eq!(outcome(&*f, &mut c).await, (200, "", None));
    let mut c = ctx("GET", "https://example.com/forbidden", &[]);
    assert_eq!(outcome(&*f, &mut c).await, (403, RESULT_OPA_DENIED, None));
}

#[tokio::test]
async fn easegress_headers_are_hidden_unless_included() {
    let f = opa(
        r#"
        package http
        default allow = true

        allow  {
            input.request.headers["x-bad-header"] == "1"
        }
        "#,
        json!({}),
    );
    let mut c = ctx("GET", "https://example.com/", &[("x-bad-header", "1")]);
    assert_eq!(outcome(&*f, &mut c).await, (200, "", None));

    // Included (any case in the spec), the header is seen under its canonical name; the
    // rule then makes allow an object, which is not a decision.
    let f = opa(
        r#"
        package http
        default allow = true

        allow = { "status_code": 403 } {
            input.request.headers["X-Bad-Header"] == "1"
        }
        "#,
        json!({"includedHeaders": "x-bad-header"}),
    );
    let mut c = ctx("GET", "https://example.com/", &[("X-BAD-HEADER", "1")]);
    assert_eq!(
        outcome(&*f, &mut c).await,
        (403, RESULT_OPA_DENIED, Some("true".into()))
    );
    assert_eq!(body_text(&c), ERR_INVALID_TYPE);
    // Without the header the default applies.
    let mut c = ctx("GET", "https://example.com/", &[]);
    assert_eq!(outcome(&*f, &mut c).await, (200, "", None));
}

#[tokio::test]
async fn easegress_rego_errors() {
    // A number is not a decision.
    let f = opa("package http\nallow = 1", json!({}));
    let mut c = ctx("GET", "/", &[]);
    assert_eq!(
        outcome(&*f, &mut c).await,
        (403, RESULT_OPA_DENIED, Some("true".into()))
    );
    assert_eq!(body_text(&c), ERR_INVALID_TYPE);

    // Another package leaves data.http.allow undefined; the build warns about it.
    let spec = filter_spec(&KIND, json!({"policy": "package http.authz\nallow = true"}));
    let sup = supervisor();
    let res = crate::resilience::Policies::new();
    let built = (KIND.build)(&spec, &BuildContext::new(&sup, &res)).unwrap();
    assert_eq!(
        built.warnings,
        vec![format!(
            "filters[0].policy: the policy does not declare {ALLOW_RULE}: every request will be denied"
        )]
    );
    let mut c = ctx("GET", "/", &[]);
    assert_eq!(
        outcome(&*built.filter, &mut c).await,
        (403, RESULT_OPA_DENIED, Some("true".into()))
    );
    assert_eq!(body_text(&c), ERR_NO_RESULT);
    assert_eq!(c.response().unwrap().headers["content-length"], "69");
}

#[tokio::test]
async fn easegress_body_is_not_read_by_default() {
    let policy = r#"
        package http
        default allow = false
        allow {
            input.request.body == "allow"
        }
    "#;
    let headers = [("content-type", "text/plain; charset=utf8")];
    let f = opa(policy, json!({}));
    let mut c = with_body("GET", "/", &headers, Body::full("allow"));
    assert_eq!(outcome(&*f, &mut c).await, (403, RESULT_OPA_DENIED, None));

    let f = opa(policy, json!({"readBody": true}));
    let mut c = with_body("GET", "/", &headers, Body::full("allow"));
    assert_eq!(outcome(&*f, &mut c).await, (200, "", None));
    let mut c = with_body("GET", "/", &headers, Body::full("deny"));
    assert_eq!(outcome(&*f, &mut c).await, (403, RESULT_OPA_DENIED, None));
}

#[tokio::test]
async fn easegress_several_included_headers_with_spaces() {
    let policy = r#"
        package http
        default allow = false
        allow {
            input.request.headers["X-Jwt-Header"]
            input.request.headers["X-My-Custom-Header"]
        }
    "#;
    let f = opa(
        policy,
        json!({"includedHeaders": "x-my-custom-header, x-jwt-header"}),
    );
    let mut c = ctx("GET", "/", &[("x-jwt-header", "1"), ("x-bad-header", "2")]);
    assert_eq!(outcome(&*f, &mut c).await, (403, RESULT_OPA_DENIED, None));
    let mut c = ctx(
        "GET",
        "/",
        &[("x-jwt-header", "1"), ("X-My-Custom-Header", "2")],
    );
    assert_eq!(outcome(&*f, &mut c).await, (200, "", None));
}

// The policy of Easegress's OPAFilter reference page.

const DOC_POLICY: &str = r#"
package http
default allow = false
allow {
   input.request.method == "POST"
   input.request.scheme == "https"
   contains(input.request.path, "/")
   net.cidr_contains("127.0.0.0/24",input.request.realIP)
}
"#;

#[tokio::test]
async fn easegress_reference_page_policy() {
    let f = opa(
        DOC_POLICY,
        json!({"defaultStatus": 403, "readBody": true, "includedHeaders": "a,b,c"}),
    );
    let https = [("x-forwarded-proto", "https")];
    let mut c = ctx_from("POST", "/a/b", &https, "127.0.0.9");
    assert_eq!(outcome(&*f, &mut c).await, (200, "", None));
    // Each condition on its own denies.
    for (method, headers, ip) in [
        ("GET", &https[..], "127.0.0.9"),
        ("POST", &[][..], "127.0.0.9"),
        ("POST", &https[..], "127.0.1.9"),
    ] {
        let mut c = ctx_from(method, "/a/b", headers, ip);
        assert_eq!(
            outcome(&*f, &mut c).await,
            (403, RESULT_OPA_DENIED, None),
            "{method} {headers:?} {ip}"
        );
    }
    // An absolute request target gives its own scheme.
    let mut c = ctx_from("POST", "https://example.com/a", &[], "127.0.0.1");
    assert_eq!(outcome(&*f, &mut c).await, (200, "", None));
}

// The input document, key by key.

#[test]
fn the_input_document() {
    let mut c = ctx_from(
        "PUT",
        "/a%20b/c/?x=1&y=%2F&x=2&bad=%zz&semi=1;2&plus=a+b",
        &[
            ("X-Token", "t1"),
            ("x-token", "t2"),
            ("Secret", "s"),
            ("x-forwarded-proto", "https"),
        ],
        "10.1.2.3",
    );
    c.request_mut().unwrap().body = Body::full("body text");
    let included = [IncludedHeader {
        name: HeaderName::from_static("x-token"),
        key: "X-Token".into(),
    }];
    let doc = input::document(c.request().unwrap(), c.real_ip, &included, "body text");
    let expected = regorus::Value::from_json_str(
        &json!({"request": {
            "method": "PUT",
            "path": "/a b/c/",
            "path_parts": ["a b", "c"],
            "raw_query": "x=1&y=%2F&x=2&bad=%zz&semi=1;2&plus=a+b",
            "query": {"x": ["1", "2"], "y": ["/"], "plus": ["a b"]},
            "headers": {"X-Token": "t1, t2"},
            "scheme": "https",
            "realIP": "10.1.2.3",
            "body": "body text",
        }})
        .to_string(),
    )
    .unwrap();
    assert_eq!(doc, expected);

    // The root path has one empty part; no query gives an empty map; plain HTTP.
    let c = ctx_from("GET", "/", &[], "::1");
    let doc = input::document(c.request().unwrap(), c.real_ip, &[], "");
    let expected = regorus::Value::from_json_str(
        &json!({"request": {
            "method": "GET", "path": "/", "path_parts": [""], "raw_query": "", "query": {},
            "headers": {}, "scheme": "http", "realIP": "::1", "body": "",
        }})
        .to_string(),
    )
    .unwrap();
    assert_eq!(doc, expected);
}

#[tokio::test]
async fn policies_see_every_input_key() {
    let f = opa(
        r#"
        package http
        default allow = false
        allow {
            input.request.method == "DELETE"
            input.request.path == "/orders/7"
            input.request.path_parts == ["orders", "7"]
            input.request.raw_query == "force=yes&force=no"
            input.request.query.force == ["yes", "no"]
            input.request.headers == {"Authorization": "Bearer x"}
            input.request.scheme == "http"
            input.request.realIP == "192.0.2.1"
            input.request.body == "{\"why\":\"gone\"}"
        }
        "#,
        json!({"includedHeaders": "Authorization", "readBody": true}),
    );
    let mut c = ctx_from(
        "DELETE",
        "/orders/7?force=yes&force=no",
        &[("authorization", "Bearer x"), ("x-other", "1")],
        "192.0.2.1",
    );
    c.request_mut().unwrap().body = Body::full(r#"{"why":"gone"}"#);
    assert_eq!(outcome(&*f, &mut c).await, (200, "", None));
}

// Builtins gateway policies use, and Rego v1 syntax.

#[tokio::test]
async fn builtins_and_rego_v1() {
    let f = opa(
        r#"
        package http
        import rego.v1

        default allow := false

        token := payload if {
            [_, encoded] := split(input.request.headers.Authorization, " ")
            payload := json.unmarshal(base64url.decode(encoded))
        }

        allow if {
            startswith(input.request.path, "/api/")
            regex.match(`^[a-z]+$`, input.request.query.user[0])
            token.role == "admin"
            time.now_ns() > 0
            upper(hex.encode("a")) == "61"
            base64.encode("ok") == "b2s="
        }
        "#,
        json!({"includedHeaders": "authorization"}),
    );
    let token = format!("Bearer {}", "eyJyb2xlIjoiYWRtaW4ifQ");
    let mut c = ctx("GET", "/api/x?user=ann", &[("authorization", &token)]);
    assert_eq!(outcome(&*f, &mut c).await, (200, "", None));
    let mut c = ctx("GET", "/api/x?user=Ann1", &[("authorization", &token)]);
    assert_eq!(outcome(&*f, &mut c).await, (403, RESULT_OPA_DENIED, None));
    let mut c = ctx("GET", "/api/x?user=ann", &[]);
    assert_eq!(outcome(&*f, &mut c).await, (403, RESULT_OPA_DENIED, None));
}

// Runtime errors.

#[tokio::test]
async fn a_conflict_at_runtime_is_an_error_answer() {
    // Two complete-rule values at once: OPA's eval_conflict_error.
    let f = opa(
        r#"
        package http
        allow = true { input.request.method == "GET" }
        allow = false { startswith(input.request.path, "/") }
        "#,
        json!({"defaultStatus": 401}),
    );
    let mut c = ctx("GET", "/", &[]);
    let (status, result, err) = outcome(&*f, &mut c).await;
    assert_eq!(
        (status, result, err.as_deref()),
        (401, RESULT_OPA_DENIED, Some("true"))
    );
    let body = body_text(&c);
    assert!(!body.is_empty(), "the engine's message is the body");
    // Only one of them holds: no conflict.
    let mut c = ctx("POST", "/", &[]);
    assert_eq!(outcome(&*f, &mut c).await, (401, RESULT_OPA_DENIED, None));
}

#[tokio::test]
async fn a_failing_builtin_is_undefined_as_in_opa() {
    let f = opa(
        r#"
        package http
        default allow = false
        allow { to_number(input.request.query.n[0]) > 1 }
        "#,
        json!({}),
    );
    let mut c = ctx("GET", "/?n=5", &[]);
    assert_eq!(outcome(&*f, &mut c).await, (200, "", None));
    let mut c = ctx("GET", "/?n=five", &[]);
    assert_eq!(outcome(&*f, &mut c).await, (403, RESULT_OPA_DENIED, None));
}

// Responses.

#[tokio::test]
async fn an_existing_response_keeps_its_body_and_headers() {
    let f = opa("package http\nallow = false", json!({"defaultStatus": 451}));
    let mut c = ctx("GET", "/", &[]);
    let mut earlier = HttpResponse::with_body(StatusCode::OK, "earlier");
    earlier.set_header(HeaderName::from_static("x-earlier"), "1");
    c.set_response(earlier);
    assert_eq!(outcome(&*f, &mut c).await, (451, RESULT_OPA_DENIED, None));
    assert_eq!(body_text(&c), "earlier");
    assert_eq!(c.response().unwrap().headers["x-earlier"], "1");

    // Allowed: the response is left alone.
    let f = opa("package http\nallow = true", json!({}));
    let mut c = ctx("GET", "/", &[]);
    c.set_response(HttpResponse::with_body(StatusCode::CREATED, "made"));
    assert_eq!(outcome(&*f, &mut c).await, (201, "", None));
    assert_eq!(body_text(&c), "made");
}

// Bodies.

#[tokio::test]
async fn a_streamed_body_is_read_and_kept() {
    let policy = "package http\ndefault allow = false\nallow { input.request.body == \"part one, part two\" }";
    let f = opa(policy, json!({"readBody": true}));
    let mut c = with_body(
        "POST",
        "/",
        &[],
        stream(vec!["part one, ", "part two"], false),
    );
    assert_eq!(outcome(&*f, &mut c).await, (200, "", None));
    let req = c.request().unwrap();
    assert_eq!(
        req.body.bytes().map(|b| b.as_ref()),
        Some(&b"part one, part two"[..]),
        "the next filters get the body"
    );

    // Without readBody a stream is not touched.
    let f = opa(policy, json!({}));
    let mut c = with_body(
        "POST",
        "/",
        &[],
        stream(vec!["part one, ", "part two"], false),
    );
    assert_eq!(outcome(&*f, &mut c).await, (403, RESULT_OPA_DENIED, None));
    assert!(!c.request().unwrap().body.is_buffered());
}

#[tokio::test]
async fn a_stream_over_the_limit_is_seen_empty_and_kept_whole() {
    let big: &'static str = Box::leak("x".repeat(BODY_BUFFER_LIMIT as usize + 1).into_boxed_str());
    let f = opa(
        "package http\ndefault allow = false\nallow { input.request.body == \"\" }",
        json!({"readBody": true}),
    );
    let mut c = with_body("POST", "/", &[], stream(vec!["head:", big], false));
    assert_eq!(outcome(&*f, &mut c).await, (200, "", None));
    let req = c.request_mut().unwrap();
    let rest = std::mem::take(&mut req.body);
    let all = rest.collect().await.unwrap().to_bytes();
    assert_eq!(
        all.len(),
        "head:".len() + big.len(),
        "every byte is still there"
    );
}

// Spec checks.

#[test]
fn bad_specs_name_the_field() {
    let cases = [
        (json!({}), "filters[0].policy", "required"),
        (json!({"policy": "  \n"}), "filters[0].policy", "required"),
        (
            json!({"policy": "package http\nallow {"}),
            "filters[0].policy",
            "invalid Rego policy",
        ),
        (
            json!({"policy": "allow = true"}),
            "filters[0].policy",
            "invalid Rego policy",
        ),
        (
            json!({"policy": "package http\nallow { x == 1 }"}),
            "filters[0].policy",
            "invalid Rego policy",
        ),
        (
            json!({"policy": "package http\nallow = true", "defaultStatus": 700}),
            "filters[0].defaultStatus",
            "100-599",
        ),
        (
            json!({"policy": "package http\nallow = true", "defaultStatus": -1}),
            "filters[0].defaultStatus",
            "100-599",
        ),
        (
            json!({"policy": "package http\nallow = true", "defaultStatus": "x"}),
            "filters[0].defaultStatus",
            "",
        ),
        (
            json!({"policy": "package http\nallow = true", "includedHeaders": "a,b:c"}),
            "filters[0].includedHeaders",
            "invalid header name",
        ),
        (
            json!({"policy": "package http\nallow = true", "readBody": "yes"}),
            "filters[0].readBody",
            "",
        ),
    ];
    for (doc, path, text) in cases {
        let e = build(&KIND, doc.clone())
            .err()
            .unwrap_or_else(|| panic!("{doc} builds"));
        let shown = e.to_string();
        assert!(shown.starts_with(path), "{doc}: {shown}");
        assert!(shown.contains(text), "{doc}: {shown}");
    }
}

#[test]
fn the_engine_message_is_in_the_error() {
    let e = build(&KIND, json!({"policy": "package http\nallow {"}))
        .err()
        .unwrap();
    let shown = e.to_string();
    assert!(shown.contains("policy.rego:2"), "{shown}");
}

#[test]
fn defaults_and_unknown_fields() {
    assert_eq!((KIND.default_spec)(), json!({"defaultStatus": 403}));
    let spec = filter_spec(
        &KIND,
        json!({"policy": "package http\nallow = true", "polcy": 1}),
    );
    let sup = supervisor();
    let res = crate::resilience::Policies::new();
    let built = (KIND.build)(&spec, &BuildContext::new(&sup, &res)).unwrap();
    assert_eq!(built.warnings.len(), 1);
    assert!(built.warnings[0].contains("polcy"), "{:?}", built.warnings);
    assert_eq!(KIND.results, &[RESULT_OPA_DENIED]);
}

#[tokio::test]
async fn status_zero_means_403_and_duplicates_are_one_header() {
    let f = opa(
        "package http\ndefault allow = false\nallow { input.request.headers == {\"A\": \"1\"} }",
        json!({"defaultStatus": 0, "includedHeaders": "a, A ,,"}),
    );
    let mut c = ctx("GET", "/", &[("a", "1")]);
    assert_eq!(outcome(&*f, &mut c).await, (200, "", None));
    let mut c = ctx("GET", "/", &[("a", "2")]);
    assert_eq!(outcome(&*f, &mut c).await, (403, RESULT_OPA_DENIED, None));
}

#[tokio::test]
async fn a_broken_body_is_an_error_answer() {
    let f = opa("package http\nallow = true", json!({"readBody": true}));
    let mut c = with_body("POST", "/", &[], stream(vec!["part"], true));
    assert_eq!(
        outcome(&*f, &mut c).await,
        (403, RESULT_OPA_DENIED, Some("true".into()))
    );
    assert!(body_text(&c).starts_with("reading the request body failed"));
}

#[tokio::test]
async fn a_builtin_regorus_lacks_fails_when_called() {
    let f = opa(
        "package http\ndefault allow = false\nallow { io.jwt.decode(input.request.query.t[0]) }",
        json!({}),
    );
    let mut c = ctx("GET", "/?t=x", &[]);
    assert_eq!(
        outcome(&*f, &mut c).await,
        (403, RESULT_OPA_DENIED, Some("true".into()))
    );
    assert!(body_text(&c).contains("io.jwt.decode"), "{}", body_text(&c));
}
