//! ResponseAdaptor tests.

use bytes::Bytes;
use eg_protocols::{Body, Context, HttpResponse};
use http::StatusCode;
use serde_json::json;

use super::*;
use crate::testkit::{body_text, build, ctx, run};
use eg_protocols::gzip::{gunzip, gzip};

fn header(c: &Context, name: &str) -> Vec<String> {
    c.response()
        .unwrap()
        .headers
        .get_all(name)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect()
}

fn with_response(status: u16, body: &str, headers: &[(&str, &str)]) -> Context {
    let mut c = ctx("GET", "/r", &[("X-Request-Id", "r-9")]);
    let mut r = HttpResponse::with_body(StatusCode::from_u16(status).unwrap(), body.to_string());
    for (k, v) in headers {
        r.headers.append(
            http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    c.set_response(r);
    c
}

async fn adapt(spec: Value, c: &mut Context) -> &'static str {
    let f = build(&KIND, spec).unwrap();
    run(f.as_ref(), c).await
}

#[test]
fn results_are_those_easegress_registers() {
    assert_eq!(
        KIND.results,
        &["responseNotFound", "compressFailed", "decompressFailed"]
    );
}

#[tokio::test]
async fn no_response_is_response_not_found() {
    let mut c = ctx("GET", "/", &[]);
    assert_eq!(
        adapt(json!({"header": {"set": {"X-A": "1"}}}), &mut c).await,
        RESULT_RESPONSE_NOT_FOUND
    );
    assert_eq!(
        adapt(json!({"template": "body: '{{.req.Body}}'"}), &mut c).await,
        RESULT_RESPONSE_NOT_FOUND
    );
}

#[tokio::test]
async fn headers_and_body_with_a_correct_length() {
    let mut c = with_response(
        202,
        "from the backend, longer",
        &[
            ("X-Upstream-Set", "old"),
            ("X-Upstream-Remove", "bye"),
            ("Content-Length", "24"),
            ("Content-Encoding", "identity"),
        ],
    );
    let spec = json!({
        "header": {"set": {"X-Upstream-Set": "new"}, "add": {"X-Easegress-Pipeline": "demo"},
                   "del": ["X-Upstream-Remove"]},
        "body": "adapted body",
    });
    assert_eq!(adapt(spec, &mut c).await, "");
    assert_eq!(c.response().unwrap().status, StatusCode::ACCEPTED);
    assert_eq!(header(&c, "x-upstream-set"), ["new"]);
    assert_eq!(header(&c, "x-easegress-pipeline"), ["demo"]);
    assert!(header(&c, "x-upstream-remove").is_empty());
    assert!(header(&c, "content-encoding").is_empty());
    assert_eq!(header(&c, "content-length"), ["12"]);
    assert_eq!(body_text(&c), "adapted body");
}

#[tokio::test]
async fn doc_example_adds_a_header() {
    // docs/07.Reference/7.02.Filters.md#responseadaptor, unchanged.
    let spec = json!({"kind": "ResponseAdaptor", "name": "response-adaptor-example",
        "header": {"add": {"X-Response-Adaptor": "response-adaptor-example"}}});
    let mut c = with_response(200, "ok", &[("X-Response-Adaptor", "upstream")]);
    assert_eq!(adapt(spec, &mut c).await, "");
    assert_eq!(
        header(&c, "x-response-adaptor"),
        ["upstream", "response-adaptor-example"]
    );
    assert_eq!(body_text(&c), "ok");
}

#[tokio::test]
async fn template_rewrites_from_request_and_response() {
    let tpl = r#"header:
  set:
    X-Request-Id: '{{.req.Header.Get "X-Request-Id"}}'
    X-Status: '{{.resp.StatusCode}}'
body: |
  {"wrapped": {{.resp.Body}}, "total": {{.resp.JSONBody.total}}}
"#;
    let mut c = with_response(200, r#"{"total": 12.50}"#, &[("Content-Length", "16")]);
    assert_eq!(
        adapt(json!({"body": "static", "template": tpl}), &mut c).await,
        ""
    );
    assert_eq!(header(&c, "x-request-id"), ["r-9"]);
    assert_eq!(header(&c, "x-status"), ["200"]);
    let want = "{\"wrapped\": {\"total\": 12.50}, \"total\": 12.50}\n";
    assert_eq!(body_text(&c), want);
    assert_eq!(header(&c, "content-length"), [want.len().to_string()]);

    let mut c = with_response(200, "not json", &[]);
    assert_eq!(
        adapt(json!({"template": tpl}), &mut c).await,
        RESULT_BUILD_ERR
    );
    assert_eq!(body_text(&c), "not json");
}

#[tokio::test]
async fn compress_and_decompress() {
    let mut c = with_response(200, "compress me, compress me", &[]);
    assert_eq!(adapt(json!({"compress": "gzip"}), &mut c).await, "");
    assert_eq!(header(&c, "content-encoding"), ["gzip"]);
    let zipped: Bytes = c.response().unwrap().body.bytes().cloned().unwrap();
    assert_eq!(header(&c, "content-length"), [zipped.len().to_string()]);
    assert_eq!(gunzip(&zipped).unwrap(), "compress me, compress me");

    // Already gzip: untouched.
    let mut c = with_response(200, "x", &[("Content-Encoding", "gzip")]);
    assert_eq!(adapt(json!({"compress": "gzip"}), &mut c).await, "");
    assert_eq!(body_text(&c), "x");

    let mut c = with_response(200, "", &[("Content-Encoding", "gzip")]);
    c.response_mut().unwrap().body = Body::full(gzip(b"inflated").unwrap());
    assert_eq!(adapt(json!({"decompress": "gzip"}), &mut c).await, "");
    assert_eq!(body_text(&c), "inflated");
    assert!(header(&c, "content-encoding").is_empty());
    assert_eq!(header(&c, "content-length"), ["8"]);

    let mut c = with_response(200, "garbage", &[("Content-Encoding", "gzip")]);
    assert_eq!(
        adapt(json!({"decompress": "gzip"}), &mut c).await,
        RESULT_DECOMPRESS_FAILED
    );
}

#[test]
fn spec_errors_name_the_field() {
    for (spec, path) in [
        (json!({"compress": "br"}), "filters[0].compress"),
        (
            json!({"compress": "gzip", "decompress": "gzip"}),
            "filters[0]",
        ),
        (
            json!({"body": "x", "decompress": "gzip"}),
            "filters[0].decompress",
        ),
        (
            json!({"header": {"add": {"X-A": "a\nb"}}}),
            "filters[0].header.add.X-A",
        ),
        (json!({"template": "{{"}), "filters[0].template"),
    ] {
        let e = build(&KIND, spec.clone())
            .err()
            .unwrap_or_else(|| panic!("{spec} accepted"));
        assert_eq!(e.path, path, "{spec}");
    }
}
