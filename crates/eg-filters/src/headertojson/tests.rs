use eg_protocols::Body;
use http_body_util::BodyExt;
use serde_json::json;

use super::*;
use crate::testkit::{build, ctx, run};

fn spec() -> Value {
    json!({"headerMap": [
        {"header": "X-Username", "json": "username"},
        {"header": "x-id", "json": "id"},
    ]})
}

fn with_body(headers: &[(&str, &str)], body: &'static str) -> Context {
    let mut c = ctx("POST", "/", headers);
    c.request_mut().unwrap().body = Body::full(body);
    c
}

fn body_json(c: &Context) -> Value {
    let req = c.request().unwrap();
    let bytes = req.body.bytes().cloned().unwrap_or_default();
    assert_eq!(
        req.headers()["content-length"],
        bytes.len().to_string().as_str(),
        "content-length follows the new body"
    );
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test]
async fn merges_into_an_object_body() {
    let f = build(&KIND, spec()).unwrap();
    let mut c = with_body(
        &[("x-username", "clientA"), ("content-length", "31")],
        r#" {"topic":"log","id":"abc123"}"#,
    );
    assert_eq!(run(&*f, &mut c).await, "");
    assert_eq!(
        body_json(&c),
        json!({"topic": "log", "id": "abc123", "username": "clientA"})
    );
    // A header maps over a field of the same name.
    let mut c = with_body(&[("X-Id", "7")], r#"{"id":"abc123"}"#);
    assert_eq!(run(&*f, &mut c).await, "");
    assert_eq!(body_json(&c), json!({"id": "7"}));
}

#[tokio::test]
async fn creates_a_body_when_empty() {
    let f = build(&KIND, spec()).unwrap();
    let mut c = ctx("POST", "/", &[("x-username", "clientA"), ("x-id", "1")]);
    assert_eq!(run(&*f, &mut c).await, "");
    assert_eq!(body_json(&c), json!({"username": "clientA", "id": "1"}));
    // White space only counts as empty.
    let mut c = with_body(&[("x-id", "1")], " \n\t");
    assert_eq!(run(&*f, &mut c).await, "");
    assert_eq!(body_json(&c), json!({"id": "1"}));
}

#[tokio::test]
async fn merges_into_each_object_of_an_array() {
    let f = build(&KIND, spec()).unwrap();
    let mut c = with_body(
        &[("x-username", "clientA")],
        r#"[{"log":"123","id":"abc"},{"log":"456","id":"def"}]"#,
    );
    assert_eq!(run(&*f, &mut c).await, "");
    assert_eq!(
        body_json(&c),
        json!([
            {"log": "123", "id": "abc", "username": "clientA"},
            {"log": "456", "id": "def", "username": "clientA"},
        ])
    );
}

#[tokio::test]
async fn non_json_bodies_are_refused_untouched() {
    let f = build(&KIND, spec()).unwrap();
    for body in ["hello", "{not json", "[1,2]", r#"{"a":1} x"#, "\"s\""] {
        let mut c = with_body(&[("x-username", "clientA")], body);
        assert_eq!(
            run(&*f, &mut c).await,
            RESULT_JSON_ENCODE_DECODE_ERR,
            "{body}"
        );
        let req = c.request().unwrap();
        assert_eq!(
            req.body.bytes().map(|b| b.to_vec()),
            Some(body.as_bytes().to_vec())
        );
        assert!(req.headers().get("content-length").is_none());
    }
}

#[tokio::test]
async fn no_listed_header_changes_nothing() {
    let f = build(&KIND, spec()).unwrap();
    // Absent or empty headers do not count; the body is not even looked at.
    let mut c = with_body(&[("x-other", "1"), ("x-id", "")], "not json");
    assert_eq!(run(&*f, &mut c).await, "");
    assert_eq!(
        c.request().unwrap().body.bytes().map(|b| b.to_vec()),
        Some(b"not json".to_vec())
    );
    let f = build(&KIND, json!({"headerMap": []})).unwrap();
    let mut c = ctx("GET", "/", &[("x-id", "1")]);
    assert_eq!(run(&*f, &mut c).await, "");
    assert!(c.request().unwrap().body.bytes().is_none());
}

#[tokio::test]
async fn a_streamed_body_is_a_read_error() {
    let f = build(&KIND, spec()).unwrap();
    let mut c = ctx("POST", "/", &[("x-id", "1")]);
    let stream = http_body_util::Full::new(Bytes::from_static(b"123"))
        .map_err(|e| match e {})
        .boxed_unsync();
    c.request_mut().unwrap().body = Body::Stream(stream);
    assert_eq!(run(&*f, &mut c).await, RESULT_BODY_READ_ERR);
}

#[test]
fn bad_specs_name_the_field() {
    let cases = [
        (json!({}), "filters[0].headerMap"),
        (json!({"headerMap": {}}), "filters[0].headerMap"),
        (
            json!({"headerMap": [{"json": "a"}]}),
            "filters[0].headerMap[0].header",
        ),
        (
            json!({"headerMap": [{"header": "bad name", "json": "a"}]}),
            "filters[0].headerMap[0].header",
        ),
        (
            json!({"headerMap": [{"header": "X-A", "json": "a"}, {"header": "X-B"}]}),
            "filters[0].headerMap[1].json",
        ),
        (
            json!({"headerMap": [{"header": "X-A", "json": "a"}, {"header": "x-a", "json": "b"}]}),
            "filters[0].headerMap[1].header",
        ),
    ];
    for (doc, path) in cases {
        let err = build(&KIND, doc.clone())
            .err()
            .unwrap_or_else(|| panic!("{doc} accepted"));
        assert_eq!(err.path, path, "{doc}: {err}");
    }
}
