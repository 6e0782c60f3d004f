use std::time::Duration;

use eg_testkit::{Reply, Upstream};
use serde_json::json;

use super::*;
use crate::testkit::{build, ctx, run};

fn b64(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn request(body: &'static str) -> Context {
    let mut c = ctx(
        "POST",
        "/a%20b?x=1",
        &[
            ("Host", "example.com"),
            ("x-multi", "1"),
            ("X-Multi", "2"),
            ("content-length", "5"),
        ],
    );
    c.request_mut().unwrap().body = Body::full(body);
    c
}

/// A service answering `status` with `doc`.
async fn service(status: u16, doc: Value) -> Upstream {
    Upstream::start(move |_| Reply::text(status, &doc.to_string())).await
}

fn filter(url: &str) -> Box<dyn Filter> {
    build(&KIND, json!({"url": url, "timeout": "5s"})).unwrap()
}

#[tokio::test]
async fn sends_the_context_and_applies_the_answer() {
    let answer = json!({
        "request": {"method": "PUT", "path": "/new path", "query": "y=2",
                    "header": {"X-New": ["1", "2"]}, "body": b64("changed")},
        "response": {"statusCode": 201, "header": {"X-Resp": ["r"]}, "body": b64("done")},
    });
    let up = service(200, answer).await;
    let f = filter(&up.url());
    let mut c = request("hello");
    assert_eq!(run(&*f, &mut c).await, "");

    // What the service got.
    let seen = up.last();
    assert_eq!(seen.method, http::Method::POST);
    assert_eq!(seen.headers["content-type"], "application/json");
    let doc: Value = serde_json::from_slice(&seen.body).unwrap();
    assert_eq!(
        doc,
        json!({
            "request": {"realIP": "127.0.0.1", "method": "POST", "scheme": "http",
                        "host": "example.com", "path": "/a b", "query": "x=1", "fragment": "",
                        "proto": "HTTP/1.1",
                        "header": {"Content-Length": ["5"], "X-Multi": ["1", "2"]},
                        "body": b64("hello")},
            "response": {"statusCode": 200, "header": {}, "body": null},
        })
    );

    // What changed.
    let req = c.request().unwrap();
    assert_eq!(req.method(), http::Method::PUT);
    assert_eq!(
        req.uri().path_and_query().unwrap().as_str(),
        "/new%20path?y=2"
    );
    let multi: Vec<_> = req.headers().get_all("x-new").iter().collect();
    assert_eq!(multi, vec!["1", "2"]);
    assert!(
        req.headers().get("x-multi").is_none(),
        "request headers are replaced"
    );
    assert_eq!(req.headers()["host"], "example.com", "Host is kept");
    assert_eq!(req.headers()["content-length"], "7");
    assert_eq!(req.body.bytes().unwrap().as_ref(), b"changed");
    let resp = c.response().unwrap();
    assert_eq!(resp.status, 201);
    assert_eq!(resp.headers["x-resp"], "r");
    assert_eq!(resp.body.bytes().unwrap().as_ref(), b"done");
}

#[tokio::test]
async fn reset_content_means_response_already() {
    let answer = json!({
        "request": {"method": "GET", "path": "/"},
        "response": {"statusCode": 403, "body": b64("denied")},
    });
    let up = service(205, answer).await;
    let mut c = request("");
    assert_eq!(
        run(&*filter(&up.url()), &mut c).await,
        RESULT_RESPONSE_ALREADY
    );
    assert_eq!(c.response().unwrap().status, 403);
}

#[tokio::test]
async fn a_null_response_leaves_the_response_alone() {
    let up = service(
        200,
        json!({"request": {"method": "GET", "path": "/p"}, "response": null}),
    )
    .await;
    let mut c = request("x");
    let mut existing = HttpResponse::with_body(StatusCode::ACCEPTED, "kept");
    existing.set_header(http::header::CONTENT_TYPE, "text/plain");
    c.set_response(existing);
    assert_eq!(run(&*filter(&up.url()), &mut c).await, "");
    let resp = c.response().unwrap();
    assert_eq!(resp.status, 202);
    assert_eq!(resp.body.bytes().unwrap().as_ref(), b"kept");
    let doc: Value = serde_json::from_slice(&up.last().body).unwrap();
    assert_eq!(doc["response"]["statusCode"], 202);
    assert_eq!(doc["response"]["body"], b64("kept"));
    assert_eq!(
        doc["response"]["header"],
        json!({"Content-Type": ["text/plain"]})
    );
    // The request's body is gone: the document had none.
    assert!(c.request().unwrap().body.bytes().is_none());
}

/// A failed call: 503 on the response, `failed`, and the request untouched.
async fn assert_fails(f: &dyn Filter, mut c: Context) {
    assert_eq!(run(f, &mut c).await, RESULT_FAILED);
    assert_eq!(c.response().unwrap().status, 503);
    let req = c.request().unwrap();
    assert_eq!(req.method(), http::Method::POST);
    assert_eq!(req.uri().path_and_query().unwrap().as_str(), "/a%20b?x=1");
}

#[tokio::test]
async fn failures_answer_503() {
    // Status 300 and more.
    for status in [300, 404, 500] {
        let up = service(status, json!({"request": {"method": "GET", "path": "/"}})).await;
        assert_fails(&*filter(&up.url()), request("x")).await;
    }
    // Documents that do not decode or are not applicable: nothing is applied.
    for bad in [
        json!("not a document"),
        json!({"response": {"statusCode": 200}}),
        json!({"request": {"method": "BAD METHOD", "path": "/"}}),
        json!({"request": {"method": "GET", "path": "/", "body": "!!"}}),
        json!({"request": {"method": "GET", "path": "/", "header": {"bad name": ["x"]}}}),
        json!({"request": {"method": "GET", "path": "/"}, "response": {"statusCode": 100}}),
        json!({"request": {"method": "GET", "path": "/"}, "response": {"statusCode": 600}}),
    ] {
        let up = service(200, bad.clone()).await;
        assert_fails(&*filter(&up.url()), request("x")).await;
    }
    // An answer over 192 KiB.
    let big = "a".repeat(200 * 1024);
    let up = Upstream::start(move |_| Reply::text(200, &big)).await;
    assert_fails(&*filter(&up.url()), request("x")).await;
    // Unreachable.
    let port = eg_testkit::free_port();
    assert_fails(&*filter(&format!("http://127.0.0.1:{port}/")), request("x")).await;
    // Slower than the timeout.
    let up = Upstream::start(|_| {
        Reply::text(200, r#"{"request":{"method":"GET","path":"/"}}"#)
            .delayed(Duration::from_secs(30))
    })
    .await;
    let f = build(&KIND, json!({"url": up.url(), "timeout": "50ms"})).unwrap();
    assert_fails(&*f, request("x")).await;
}

#[tokio::test]
async fn a_request_body_over_64_kib_fails_before_calling() {
    let up = service(200, json!({"request": {"method": "GET", "path": "/"}})).await;
    let mut c = ctx("POST", "/a%20b?x=1", &[]);
    c.request_mut().unwrap().body = Body::full(vec![b'x'; 64 * 1024 + 1]);
    assert_fails(&*filter(&up.url()), c).await;
    assert_eq!(up.hits(), 0);
}

#[test]
fn canonical_names() {
    assert_eq!(protocol::canonical("content-type"), "Content-Type");
    assert_eq!(protocol::canonical("x-b3-traceid"), "X-B3-Traceid");
    assert_eq!(protocol::canonical("ETAG"), "Etag");
}

#[test]
fn bad_specs_name_the_field() {
    let cases = [
        (json!({}), "filters[0].url"),
        (json!({"url": "not a url"}), "filters[0].url"),
        (json!({"url": "/relative"}), "filters[0].url"),
        (json!({"url": "ftp://a.com/x"}), "filters[0].url"),
        (json!({"url": 1}), "filters[0].url"),
        (
            json!({"url": "http://a.com", "timeout": "soon"}),
            "filters[0].timeout",
        ),
    ];
    for (doc, path) in cases {
        let err = build(&KIND, doc.clone())
            .err()
            .unwrap_or_else(|| panic!("{doc} accepted"));
        assert_eq!(err.path, path, "{doc}: {err}");
    }
}
