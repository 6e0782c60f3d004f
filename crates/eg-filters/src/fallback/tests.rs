use eg_protocols::HttpResponse;
use serde_json::json;

use super::*;
use crate::testkit::{body_text, build, ctx, run};

#[tokio::test]
async fn overwrites_the_response() {
    let f = build(
        &KIND,
        json!({"mockCode": 200, "mockHeaders": {"X-Fallback": "yes"}, "mockBody": "{\"m\":1}"}),
    )
    .unwrap();
    let mut c = ctx("GET", "/", &[]);
    let mut old = HttpResponse::with_body(StatusCode::BAD_GATEWAY, "upstream down");
    old.headers
        .insert("x-old", HeaderValue::from_static("kept"));
    old.headers
        .insert("x-fallback", HeaderValue::from_static("no"));
    c.set_response(old);
    assert_eq!(run(&*f, &mut c).await, RESULT_FALLBACK);
    let r = c.response().unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.headers["x-fallback"], "yes");
    assert_eq!(r.headers["x-old"], "kept");
    assert_eq!(r.headers["content-length"], "7");
    assert_eq!(body_text(&c), "{\"m\":1}");
}

#[tokio::test]
async fn without_response_reports_it() {
    let f = build(&KIND, json!({"mockCode": 503})).unwrap();
    let mut c = ctx("GET", "/", &[]);
    assert_eq!(run(&*f, &mut c).await, RESULT_RESPONSE_NOT_FOUND);
    assert!(c.response().is_none());
}

#[tokio::test]
async fn empty_body_sets_zero_length() {
    let f = build(&KIND, json!({"mockCode": 204})).unwrap();
    let mut c = ctx("GET", "/", &[]);
    c.set_response(HttpResponse::with_body(StatusCode::OK, "x"));
    assert_eq!(run(&*f, &mut c).await, RESULT_FALLBACK);
    let r = c.response().unwrap();
    assert_eq!(r.status, 204);
    assert_eq!(r.headers["content-length"], "0");
    assert!(r.body.bytes().is_none());
}

#[test]
fn bad_specs_name_the_field() {
    let cases = [
        (json!({}), "filters[0].mockCode"),
        (json!({"mockCode": 99}), "filters[0].mockCode"),
        (json!({"mockCode": "200"}), "filters[0].mockCode"),
        (
            json!({"mockCode": 200, "mockHeaders": {"a b": "1"}}),
            "filters[0].mockHeaders.a b",
        ),
        (
            json!({"mockCode": 200, "mockHeaders": {"X": 1}}),
            "filters[0].mockHeaders.X",
        ),
        (
            json!({"mockCode": 200, "mockBody": []}),
            "filters[0].mockBody",
        ),
    ];
    for (doc, path) in cases {
        let err = build(&KIND, doc.clone())
            .err()
            .unwrap_or_else(|| panic!("{doc} accepted"));
        assert_eq!(err.path, path, "{doc}: {err}");
    }
}
