//! `host_req_*` read and change the request.

use eg_protocols::Body;
use http::header::HeaderValue;
use http::Method;

use super::*;

/// Each getter's answer copied into a response header named after it.
#[test]
fn getters_answer_the_request() {
    let getters = [
        "host_req_get_real_ip",
        "host_req_get_scheme",
        "host_req_get_proto",
        "host_req_get_method",
        "host_req_get_host",
        "host_req_get_path",
        "host_req_get_escaped_path",
        "host_req_get_query",
        "host_req_get_fragment",
        "host_req_get_all_header",
    ];
    let mut imports = getters.to_vec();
    imports.extend([
        "host_resp_set_header",
        "host_req_get_header",
        "host_req_get_cookie",
    ]);
    let mut strings: Vec<&str> = getters.iter().map(|g| &g[13..]).collect();
    strings.extend(["x-in", "b", "header", "cookie"]);
    let mut body = String::new();
    for (i, g) in getters.iter().enumerate() {
        body.push_str(&format!(
            "(call $host_resp_set_header (i32.const {}) (call ${g}))\n",
            string_addr(&strings, i)
        ));
    }
    let n = getters.len();
    body.push_str(&format!(
        "(call $host_resp_set_header (i32.const {}) (call $host_req_get_header (i32.const {})))\n",
        string_addr(&strings, n + 2),
        string_addr(&strings, n)
    ));
    body.push_str(&format!(
        "(call $host_resp_set_header (i32.const {}) (call $host_req_get_cookie (i32.const {})))\n",
        string_addr(&strings, n + 3),
        string_addr(&strings, n + 1)
    ));
    body.push_str("(i32.const 0)");
    let (_, f) = build_wat(&module(&imports, &strings, &body, ""));
    let mut ctx = context(Method::PUT, "/a%20b/c?x=1&y=2");
    let h = ctx.request_mut().map(|r| r.headers_mut());
    if let Some(h) = h {
        h.insert("host", HeaderValue::from_static("example.com:8080"));
        h.insert("x-in", HeaderValue::from_static("hello"));
        h.insert("cookie", HeaderValue::from_static("a=1; b=2"));
    }
    assert_eq!(run(f.as_ref(), &mut ctx), "");
    let got = |n: &str| resp_header(&ctx, n);
    assert_eq!(got("real_ip"), "10.1.2.3");
    assert_eq!(got("scheme"), "http");
    assert_eq!(got("proto"), "HTTP/1.1");
    assert_eq!(got("method"), "PUT");
    assert_eq!(got("host"), "example.com:8080");
    assert_eq!(got("path"), "/a b/c");
    assert_eq!(got("escaped_path"), "/a%20b/c");
    assert_eq!(got("query"), "x=1&y=2");
    assert_eq!(got("fragment"), "");
    // Header values cannot hold CRLF: the set is dropped, so check the getter elsewhere.
    assert_eq!(got("header"), "hello");
    assert_eq!(got("cookie"), "b=2");
}

#[test]
fn all_headers_come_as_go_writes_them() {
    let strings = ["x-all"];
    // The text is handed back as the whole request header set of... the response.
    let body = "(call $host_resp_set_all_header (call $host_req_get_all_header)) (i32.const 0)";
    let (_, f) = build_wat(&module(
        &["host_req_get_all_header", "host_resp_set_all_header"],
        &strings,
        body,
        "",
    ));
    let mut ctx = context(Method::GET, "/");
    if let Some(h) = ctx.request_mut().map(|r| r.headers_mut()) {
        h.insert("host", HeaderValue::from_static("h"));
        h.append("x-b", HeaderValue::from_static("1"));
        h.append("x-b", HeaderValue::from_static("2"));
        h.insert("content-type", HeaderValue::from_static("text/plain"));
    }
    assert_eq!(run(f.as_ref(), &mut ctx), "");
    let resp = ctx
        .response()
        .map(|r| r.headers.clone())
        .unwrap_or_default();
    assert_eq!(resp.get_all("x-b").iter().count(), 2);
    assert_eq!(
        resp.get("content-type").map(|v| v.as_bytes()),
        Some(&b"text/plain"[..])
    );
    assert!(resp.get("host").is_none(), "Host is not among the headers");
}

#[test]
fn setters_change_the_request() {
    let strings = [
        "POST",
        "/new path",
        "q=2",
        "x-set",
        "v1",
        "x-add",
        "v2",
        "x-del",
        "c=3",
        "other.host",
        "hello body",
    ];
    let a = |i| string_addr(&strings, i);
    // The body is given as bytes: the string's length counts its NUL, so write a bytes
    // record by hand at 4000.
    let body = format!(
        "(call $host_req_set_method (i32.const {}))
         (call $host_req_set_path (i32.const {}))
         (call $host_req_set_query (i32.const {}))
         (call $host_req_set_header (i32.const {}) (i32.const {}))
         (call $host_req_add_header (i32.const {}) (i32.const {}))
         (call $host_req_del_header (i32.const {}))
         (call $host_req_add_cookie (i32.const {}))
         (call $host_req_set_host (i32.const {}))
         (i32.store (i32.const 4000) (i32.const 5))
         (i32.store (i32.const 4004) (i32.const 0x6c6c6568))
         (i32.store8 (i32.const 4008) (i32.const 0x6f))
         (call $host_req_set_body (i32.const 4000))
         (i32.const 0)",
        a(0),
        a(1),
        a(2),
        a(3),
        a(4),
        a(5),
        a(6),
        a(7),
        a(8),
        a(9)
    );
    let (_, f) = build_wat(&module(
        &[
            "host_req_set_method",
            "host_req_set_path",
            "host_req_set_query",
            "host_req_set_header",
            "host_req_add_header",
            "host_req_del_header",
            "host_req_add_cookie",
            "host_req_set_host",
            "host_req_set_body",
        ],
        &strings,
        &body,
        "",
    ));
    let mut ctx = context(Method::GET, "/old?q=1");
    if let Some(h) = ctx.request_mut().map(|r| r.headers_mut()) {
        h.insert("x-add", HeaderValue::from_static("v0"));
        h.insert("x-del", HeaderValue::from_static("gone"));
        h.insert("cookie", HeaderValue::from_static("a=1"));
    }
    assert_eq!(run(f.as_ref(), &mut ctx), "");
    let req = ctx.request().unwrap_or_else(|| panic!("request kept"));
    assert_eq!(req.method(), Method::POST);
    assert_eq!(req.path(), "/new%20path");
    assert_eq!(req.query(), "q=2");
    assert_eq!(req.header("x-set"), Some("v1"));
    assert_eq!(req.headers().get_all("x-add").iter().count(), 2);
    assert_eq!(req.header("x-del"), None);
    assert_eq!(req.header("cookie"), Some("a=1; c=3"));
    assert_eq!(req.header("host"), Some("other.host"));
    assert_eq!(req.body.bytes().map(|b| b.as_ref()), Some(&b"hello"[..]));
    assert_eq!(req.header("content-length"), Some("5"));
}

#[test]
fn body_is_read_and_echoed() {
    // The request body becomes the response body.
    let body = "(call $host_resp_set_body (call $host_req_get_body)) (i32.const 0)";
    let (_, f) = build_wat(&module(
        &["host_req_get_body", "host_resp_set_body"],
        &[],
        body,
        "",
    ));
    let mut ctx = context(Method::POST, "/");
    if let Some(r) = ctx.request_mut() {
        r.body = Body::full("ping");
    }
    assert_eq!(run(f.as_ref(), &mut ctx), "");
    let resp = ctx.response().map(|r| r.body.bytes().cloned());
    assert_eq!(resp.flatten().as_deref(), Some(&b"ping"[..]));
}

#[test]
fn all_cookies_come_as_a_string_array() {
    // The count of the array becomes the result code.
    let body = "(i32.load (call $host_req_get_all_cookie))";
    let (_, f) = build_wat(&module(&["host_req_get_all_cookie"], &[], body, ""));
    let mut ctx = context(Method::GET, "/");
    if let Some(h) = ctx.request_mut().map(|r| r.headers_mut()) {
        h.insert("cookie", HeaderValue::from_static("a=1; b=2; c=3"));
    }
    assert_eq!(run(f.as_ref(), &mut ctx), "wasmResult3");
}
