use eg_protocols::HttpResponse;
use http::StatusCode;
use serde_json::{json, Value};

use super::*;
use crate::testkit::{body_text, build, ctx, run};

fn redirector(doc: Value) -> Box<dyn Filter> {
    build(&KIND, doc).unwrap()
}

/// Runs `f` on `GET target`; returns the result and the Location (if redirected).
async fn go(f: &dyn Filter, target: &str) -> (&'static str, Option<String>) {
    let mut c = ctx("GET", target, &[]);
    let r = run(f, &mut c).await;
    let loc = c
        .response()
        .and_then(|r| r.headers.get("location"))
        .map(|v| v.to_str().unwrap().to_string());
    (r, loc)
}

#[tokio::test]
async fn default_is_301_on_the_uri_with_the_status_text_as_body() {
    let f = redirector(json!({"match": "^/users/([0-9]+)",
                              "replacement": "http://example.com/display?user=$1"}));
    let mut c = ctx("GET", "/users/123", &[]);
    assert_eq!(run(&*f, &mut c).await, RESULT_REDIRECTED);
    let resp = c.response().unwrap();
    assert_eq!(resp.status, 301);
    assert_eq!(
        resp.headers["location"],
        "http://example.com/display?user=123"
    );
    assert_eq!(body_text(&c), "Moved Permanently");
    // No match: the flow goes on, no response.
    let mut c = ctx("GET", "/other", &[]);
    assert_eq!(run(&*f, &mut c).await, "");
    assert!(c.response().is_none());
}

#[tokio::test]
async fn uri_includes_the_query_and_path_does_not() {
    let uri = redirector(json!({"match": "^/(.*)$", "replacement": "/new/$1"}));
    assert_eq!(
        go(&*uri, "/a/b?x=1").await,
        (RESULT_REDIRECTED, Some("/new/a/b?x=1".into()))
    );
    let path =
        redirector(json!({"match": "^/(.*)$", "replacement": "/new/$1", "matchPart": "PATH"}));
    assert_eq!(
        go(&*path, "/a/b?x=1").await,
        (RESULT_REDIRECTED, Some("/new/a/b".into()))
    );
    // The path is matched decoded, the uri as received.
    let decoded =
        redirector(json!({"match": "^/a b$", "replacement": "/space", "matchPart": "path"}));
    assert_eq!(
        go(&*decoded, "/a%20b").await,
        (RESULT_REDIRECTED, Some("/space".into()))
    );
    let raw = redirector(json!({"match": "^/a b$", "replacement": "/space"}));
    assert_eq!(go(&*raw, "/a%20b").await, ("", None));
}

#[tokio::test]
async fn full_is_the_url_as_received() {
    let f = redirector(json!({"match": r"^(https?://)([^/]*)(.*)$",
                              "replacement": "${1}my.com${3}", "matchPart": "full"}));
    assert_eq!(
        go(&*f, "http://a.com:8080/foo?x=1").await,
        (RESULT_REDIRECTED, Some("http://my.com/foo?x=1".into()))
    );
    // An origin-form request has no scheme and host to match.
    assert_eq!(go(&*f, "/foo").await, ("", None));
}

#[tokio::test]
async fn every_match_is_replaced_and_named_groups_work() {
    let f = redirector(json!({"match": "o", "replacement": "0"}));
    assert_eq!(
        go(&*f, "/foo/boo").await,
        (RESULT_REDIRECTED, Some("/f00/b00".into()))
    );
    let f = redirector(json!({"match": "^/u/(?P<id>[0-9]+)/(?P<tab>[a-z]+)",
                              "replacement": "/display?user=${id}&status=$tab"}));
    assert_eq!(
        go(&*f, "/u/9/work").await,
        (
            RESULT_REDIRECTED,
            Some("/display?user=9&status=work".into())
        )
    );
}

#[tokio::test]
async fn a_replacement_giving_the_same_text_is_no_redirect() {
    let f = redirector(json!({"match": "^(/same)$", "replacement": "$1"}));
    assert_eq!(go(&*f, "/same").await, ("", None));
}

#[tokio::test]
async fn each_status_code_and_its_text() {
    for (code, text) in [
        (301, "Moved Permanently"),
        (302, "Found"),
        (303, "See Other"),
        (304, "Not Modified"),
        (307, "Temporary Redirect"),
        (308, "Permanent Redirect"),
    ] {
        let f = redirector(json!({"match": "^/x", "replacement": "/y", "statusCode": code}));
        let mut c = ctx("GET", "/x", &[]);
        assert_eq!(run(&*f, &mut c).await, RESULT_REDIRECTED);
        assert_eq!(c.response().unwrap().status.as_u16(), code);
        assert_eq!(body_text(&c), text);
    }
}

#[tokio::test]
async fn the_redirect_replaces_an_existing_response() {
    let f = redirector(json!({"match": "^/x", "replacement": "/y"}));
    let mut c = ctx("GET", "/x", &[]);
    let mut old = HttpResponse::with_body(StatusCode::OK, "old");
    old.headers.insert("x-old", "1".parse().unwrap());
    c.set_response(old);
    assert_eq!(run(&*f, &mut c).await, RESULT_REDIRECTED);
    let resp = c.response().unwrap();
    assert_eq!(resp.status, 301);
    assert!(resp.headers.get("x-old").is_none());
}

#[track_caller]
fn assert_err(doc: Value, path: &str, words: &str) {
    let e = match build(&KIND, doc) {
        Ok(_) => panic!("spec accepted"),
        Err(e) => e,
    };
    assert_eq!(e.path, path, "{e}");
    assert!(e.message.contains(words), "{e}");
}

#[test]
fn bad_specs_name_the_field() {
    assert_err(json!({"replacement": "/y"}), "filters[0].match", "required");
    assert_err(
        json!({"match": "(", "replacement": "/y"}),
        "filters[0].match",
        "invalid regexp",
    );
    assert_err(json!({"match": "x"}), "filters[0].replacement", "required");
    assert_err(
        json!({"match": "x", "replacement": "/y", "matchPart": "host"}),
        "filters[0].matchPart",
        "uri, path, full",
    );
    for code in [200, 300, 305, 404, -1] {
        assert_err(
            json!({"match": "x", "replacement": "/y", "statusCode": code}),
            "filters[0].statusCode",
            "not a redirect status",
        );
    }
    assert_err(
        json!({"match": "x", "replacement": "/y", "statusCode": "301"}),
        "filters[0].statusCode",
        "",
    );
}

#[test]
fn kind_metadata() {
    assert_eq!(KIND.kind, "Redirector");
    assert_eq!(KIND.results, &["redirected"]);
    assert_eq!(
        (KIND.default_spec)(),
        json!({"matchPart": "uri", "statusCode": 301})
    );
}
