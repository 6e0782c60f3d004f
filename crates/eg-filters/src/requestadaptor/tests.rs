//! RequestAdaptor tests.

use bytes::Bytes;
use eg_protocols::{Body, BoxStream, Context};
use http_body_util::BodyExt;
use serde_json::json;

use super::*;
use crate::testkit::{build, ctx, run};
use eg_protocols::gzip::{gunzip, gzip};

fn req_header(c: &Context, name: &str) -> Vec<String> {
    c.request()
        .unwrap()
        .headers()
        .get_all(name)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect()
}

fn body_of(c: &Context) -> Bytes {
    c.request()
        .unwrap()
        .body
        .bytes()
        .cloned()
        .unwrap_or_default()
}

async fn adapt(spec: Value, c: &mut Context) -> &'static str {
    let f = build(&KIND, spec).unwrap();
    run(f.as_ref(), c).await
}

#[test]
fn results_are_those_easegress_registers_and_sign_failed() {
    // Easegress returns signFailed without registering it; registered here so that
    // jumpIf can name it.
    assert_eq!(
        KIND.results,
        &["decompressFailed", "compressFailed", "signFailed"]
    );
}

#[tokio::test]
async fn method_and_body() {
    let mut c = ctx(
        "PUT",
        "/m",
        &[("Content-Encoding", "br"), ("Content-Length", "8")],
    );
    c.request_mut().unwrap().body = Body::full("original");
    assert_eq!(
        adapt(json!({"method": "POST", "body": "replaced-body"}), &mut c).await,
        ""
    );
    assert_eq!(c.request().unwrap().method(), "POST");
    assert_eq!(body_of(&c), "replaced-body");
    assert_eq!(req_header(&c, "content-length"), ["13"]);
    assert!(req_header(&c, "content-encoding").is_empty());
    assert_eq!(
        c.tags.iter().map(|t| t.to_string()).collect::<Vec<_>>(),
        ["requestAdaptor: method PUT adapted to POST"]
    );
}

#[tokio::test]
async fn headers_del_set_add_and_host() {
    let mut c = ctx(
        "GET",
        "/h",
        &[
            ("X-Remove", "gone"),
            ("X-Set", "old"),
            ("X-Add", "orig"),
            ("Host", "client.example.com"),
        ],
    );
    let spec = json!({"host": "adapted.example.com", "header": {
        "del": ["X-Remove"], "set": {"X-Set": "new"}, "add": {"X-Add": "added"}}});
    assert_eq!(adapt(spec, &mut c).await, "");
    assert!(req_header(&c, "x-remove").is_empty());
    assert_eq!(req_header(&c, "x-set"), ["new"]);
    assert_eq!(req_header(&c, "x-add"), ["orig", "added"]);
    assert_eq!(req_header(&c, "host"), ["adapted.example.com"]);
}

#[tokio::test]
async fn path_rewrites_keep_the_query() {
    for (path, want) in [
        (json!({"replace": "/new"}), "/new?q=1"),
        (json!({"addPrefix": "/v3"}), "/v3/api/users?q=1"),
        (json!({"trimPrefix": "/api"}), "/users?q=1"),
        (json!({"trimPrefix": "/api/users"}), "/?q=1"),
        (
            // docs/07.Reference/7.02.Filters.md#requestadaptor, unchanged.
            json!({"regexpReplace": {"regexp": "^/([a-z]+)/([a-z]+)", "replace": "/$2/$1"}}),
            "/users/api?q=1",
        ),
        (json!({"replace": "/a b"}), "/a%20b?q=1"),
    ] {
        let mut c = ctx("GET", "/api/users?q=1", &[]);
        assert_eq!(adapt(json!({"path": path}), &mut c).await, "", "{path}");
        assert_eq!(c.request().unwrap().uri().to_string(), want, "{path}");
    }
}

#[tokio::test]
async fn template_renders_from_the_request() {
    let tpl = "header:\n  set:\n    X-Orig-Host: '{{ .req.Host }}'\n    X-Orig-Method: '{{ .req.Method }}'\n";
    let mut c = ctx("PUT", "/t", &[("Host", "client.example.com")]);
    assert_eq!(adapt(json!({"template": tpl}), &mut c).await, "");
    assert_eq!(req_header(&c, "x-orig-method"), ["PUT"]);
    assert_eq!(req_header(&c, "x-orig-host"), ["client.example.com"]);
}

#[tokio::test]
async fn template_takes_priority_over_static_fields() {
    // docs/07.Reference/7.02.Filters.md#requestadaptor, unchanged: the template's method
    // (the request's own) wins over the static GET; its header spec replaces the static one.
    let spec = json!({
        "method": "GET",
        "header": {"del": ["X-Version"]},
        "template": "method: '{{ .req.Method }}'\nheader:\n  set:\n    Host: '{{ .req.Host }}'\n",
    });
    let mut c = ctx("POST", "/x", &[("Host", "h.example"), ("X-Version", "2")]);
    assert_eq!(adapt(spec, &mut c).await, "");
    assert_eq!(c.request().unwrap().method(), "POST");
    assert_eq!(req_header(&c, "x-version"), ["2"]);
    assert_eq!(req_header(&c, "host"), ["h.example"]);

    let spec = json!({
        "body": "static", "path": {"addPrefix": "/s"},
        "template": "body: 'from {{.req.URL.Path}}'\npath:\n  replace: /t\nhost: t.example\n",
    });
    let mut c = ctx("GET", "/x", &[]);
    assert_eq!(adapt(spec, &mut c).await, "");
    assert_eq!(body_of(&c), "from /x");
    assert_eq!(c.request().unwrap().path(), "/t");
    assert_eq!(req_header(&c, "host"), ["t.example"]);

    // Fields the template leaves out keep the static values.
    let spec = json!({"body": "static", "template": "header:\n  add:\n    X-T: '1'\n"});
    let mut c = ctx("GET", "/x", &[]);
    assert_eq!(adapt(spec, &mut c).await, "");
    assert_eq!(body_of(&c), "static");
    assert_eq!(req_header(&c, "x-t"), ["1"]);
}

#[tokio::test]
async fn reference_template_example_works_unchanged() {
    // docs/07.Reference/7.02.Filters.md#template-of-builder-filters.
    let tpl = r#"header:
    set:
        Content: '{{ header .req.Header "Content-Length" }}'
        Content-Type: '{{ header .req.Header "Content-Type" }}'
        Host: '{{ .req.Host }}'
        Method: '{{ .req.Method }}'
        Remote-Addr: '{{ .req.RemoteAddr }}'
        Remote-User: '{{ username .req }}'
        Request-Body: '{{ .req.Body }}'
        Request-URI: '{{ .req.RequestURI }}'
        Scheme: '{{ .req.URL.Scheme }}'
"#;
    let mut c = ctx(
        "POST",
        "/p?a=1",
        &[
            ("Host", "gw.example:10080"),
            ("Content-Type", "text/plain"),
            ("Content-Length", "5"),
            ("Authorization", "Basic Ym9iOnB3"),
        ],
    );
    c.request_mut().unwrap().body = Body::full("hello");
    assert_eq!(
        adapt(
            json!({"kind": "RequestAdaptor", "name": "request-adaptor", "template": tpl}),
            &mut c
        )
        .await,
        ""
    );
    for (k, v) in [
        ("content", "5"),
        ("content-type", "text/plain"),
        ("host", "gw.example:10080"),
        ("method", "POST"),
        ("remote-addr", "127.0.0.1:40000"),
        ("remote-user", "bob"),
        ("request-body", "hello"),
        ("request-uri", "/p?a=1"),
        ("scheme", ""),
    ] {
        assert_eq!(req_header(&c, k), [v], "{k}");
    }
}

#[tokio::test]
async fn template_failures_are_build_err() {
    for tpl in [
        "method: 'BAD METHOD'",
        "host: \"a\\nb\"",
        "header:\n  set:\n    'bad name': v\n",
        "path:\n  regexpReplace:\n    regexp: '('\n",
        "{{.req.Nope}}",
        "header: [x",
    ] {
        let mut c = ctx("GET", "/keep", &[]);
        assert_eq!(
            adapt(json!({"template": tpl}), &mut c).await,
            RESULT_BUILD_ERR,
            "{tpl}"
        );
        assert_eq!(c.request().unwrap().path(), "/keep");
        assert_eq!(c.request().unwrap().method(), "GET");
    }
}

#[tokio::test]
async fn compress_and_decompress() {
    let mut c = ctx("POST", "/", &[]);
    c.request_mut().unwrap().body = Body::full("plain text plain text");
    assert_eq!(adapt(json!({"compress": "gzip"}), &mut c).await, "");
    let zipped = body_of(&c);
    assert_eq!(gunzip(&zipped).unwrap(), "plain text plain text");
    assert_eq!(req_header(&c, "content-encoding"), ["gzip"]);
    assert_eq!(req_header(&c, "content-length"), [zipped.len().to_string()]);

    // Already encoded: left alone.
    let mut c = ctx("POST", "/", &[("Content-Encoding", "br")]);
    c.request_mut().unwrap().body = Body::full("x");
    assert_eq!(adapt(json!({"compress": "gzip"}), &mut c).await, "");
    assert_eq!(body_of(&c), "x");

    let mut c = ctx("POST", "/", &[("Content-Encoding", "gzip")]);
    c.request_mut().unwrap().body = Body::full(gzip(b"unzipped").unwrap());
    assert_eq!(adapt(json!({"decompress": "gzip"}), &mut c).await, "");
    assert_eq!(body_of(&c), "unzipped");
    assert!(req_header(&c, "content-encoding").is_empty());
    assert_eq!(req_header(&c, "content-length"), ["8"]);

    // A body that came chunked and was buffered is sent with its length only.
    let mut c = ctx("POST", "/", &[("Transfer-Encoding", "chunked")]);
    c.request_mut().unwrap().body = Body::full("plain text");
    assert_eq!(adapt(json!({"compress": "gzip"}), &mut c).await, "");
    assert!(req_header(&c, "transfer-encoding").is_empty());
    assert_eq!(
        req_header(&c, "content-length"),
        [body_of(&c).len().to_string()]
    );

    // Not gzip-encoded: left alone; corrupt gzip: decompressFailed.
    let mut c = ctx("POST", "/", &[]);
    c.request_mut().unwrap().body = Body::full("as is");
    assert_eq!(adapt(json!({"decompress": "gzip"}), &mut c).await, "");
    assert_eq!(body_of(&c), "as is");
    let mut c = ctx("POST", "/", &[("Content-Encoding", "gzip")]);
    c.request_mut().unwrap().body = Body::full("not gzip at all");
    assert_eq!(
        adapt(json!({"decompress": "gzip"}), &mut c).await,
        RESULT_DECOMPRESS_FAILED
    );
}

#[tokio::test]
async fn streamed_bodies_are_compressed_as_they_flow() {
    let mut c = ctx("POST", "/", &[("Content-Length", "11")]);
    let src = http_body_util::Full::new(Bytes::from_static(b"stream body")).map_err(|n| match n {});
    c.request_mut().unwrap().body = Body::Stream(BoxStream::new(src));
    assert_eq!(adapt(json!({"compress": "gzip"}), &mut c).await, "");
    assert!(req_header(&c, "content-length").is_empty());
    assert_eq!(req_header(&c, "content-encoding"), ["gzip"]);
    let zipped = c.request_mut().unwrap().body.buffer(None).await.unwrap();
    assert_eq!(gunzip(&zipped).unwrap(), "stream body");
}

#[test]
fn spec_errors_name_the_field() {
    for (spec, path) in [
        (json!({"compress": "br"}), "filters[0].compress"),
        (json!({"decompress": "deflate"}), "filters[0].decompress"),
        (
            json!({"compress": "gzip", "decompress": "gzip"}),
            "filters[0]",
        ),
        (
            json!({"body": "x", "decompress": "gzip"}),
            "filters[0].decompress",
        ),
        (
            json!({"sign": {"apiProvider": "aws4"}}),
            "filters[0].sign.accessKeyId",
        ),
        (
            json!({"sign": {"apiProvider": "gcp", "accessKeyId": "a"}}),
            "filters[0].sign.apiProvider",
        ),
        (
            json!({"sign": {"accessKeyId": "a", "scopes": ["us-east-1", "s/3"]}}),
            "filters[0].sign.scopes[1]",
        ),
        (
            json!({"sign": {"accessKeyId": "a", "ttl": "1x"}}),
            "filters[0].sign.ttl",
        ),
        (
            json!({"sign": {"accessKeyId": "a", "literal": {"scopeSuffix": "x"}}}),
            "filters[0].sign.literal.algorithmName",
        ),
        (
            json!({"sign": {"accessKeyId": "a", "excludeBody": 1}}),
            "filters[0].sign.excludeBody",
        ),
        (json!({"method": "FETCH"}), "filters[0].method"),
        (json!({"host": "a\nb"}), "filters[0].host"),
        (
            json!({"path": {"addPrefix": "v1"}}),
            "filters[0].path.addPrefix",
        ),
        (
            json!({"path": {"regexpReplace": {"regexp": "("}}}),
            "filters[0].path.regexpReplace.regexp",
        ),
        (
            json!({"header": {"set": {"bad name": "v"}}}),
            "filters[0].header.set.bad name",
        ),
        (
            json!({"header": {"del": ["ok", "bad name"]}}),
            "filters[0].header.del[1]",
        ),
    ] {
        let e = build(&KIND, spec.clone())
            .err()
            .unwrap_or_else(|| panic!("{spec} accepted"));
        assert_eq!(e.path, path, "{spec}");
    }
    let e = build(
        &KIND,
        json!({"sign": {"accessKeyId": "a", "apiProvider": "gcp"}}),
    )
    .err()
    .unwrap();
    assert_eq!(e.message, "\"gcp\" is not a supported API provider");
}
