//! `host_resp_*` read and change the response.

use eg_protocols::{Body, HttpResponse};
use http::header::HeaderValue;
use http::{Method, StatusCode};

use super::*;

#[test]
fn response_is_read_and_changed() {
    let strings = [
        "x-set",
        "v1",
        "x-add",
        "v2",
        "x-del",
        "id=7; Path=/",
        "x-status",
        "x-old",
    ];
    let a = |i| string_addr(&strings, i);
    let body = format!(
        "(call $host_resp_set_header (i32.const {}) (i32.const {}))
         (call $host_resp_add_header (i32.const {}) (i32.const {}))
         (call $host_resp_del_header (i32.const {}))
         (call $host_resp_set_cookie (i32.const {}))
         (call $host_resp_set_header (i32.const {}) (call $host_resp_get_header (i32.const {})))
         (call $host_resp_set_status_code (i32.add (call $host_resp_get_status_code) (i32.const 1)))
         (call $host_resp_set_body (call $host_resp_get_body))
         (i32.const 0)",
        a(0),
        a(1),
        a(2),
        a(3),
        a(4),
        a(5),
        a(6),
        a(7),
    );
    let (_, f) = build_wat(&module(
        &[
            "host_resp_set_header",
            "host_resp_add_header",
            "host_resp_del_header",
            "host_resp_set_cookie",
            "host_resp_get_header",
            "host_resp_get_status_code",
            "host_resp_set_status_code",
            "host_resp_get_body",
            "host_resp_set_body",
        ],
        &strings,
        &body,
        "",
    ));
    let mut ctx = context(Method::GET, "/");
    let mut resp = HttpResponse::new(StatusCode::CREATED);
    resp.body = Body::full("kept");
    resp.headers.insert("x-add", HeaderValue::from_static("v0"));
    resp.headers
        .insert("x-del", HeaderValue::from_static("gone"));
    resp.headers
        .insert("x-old", HeaderValue::from_static("old"));
    ctx.set_response(resp);
    assert_eq!(run(f.as_ref(), &mut ctx), "");
    let r = ctx.response().unwrap_or_else(|| panic!("response kept"));
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert_eq!(
        r.headers.get("x-set").map(|v| v.as_bytes()),
        Some(&b"v1"[..])
    );
    assert_eq!(r.headers.get_all("x-add").iter().count(), 2);
    assert!(r.headers.get("x-del").is_none());
    assert_eq!(resp_header(&ctx, "set-cookie"), "id=7; Path=/");
    assert_eq!(resp_header(&ctx, "x-status"), "old");
    assert_eq!(r.body.bytes().map(|b| b.as_ref()), Some(&b"kept"[..]));
}

#[test]
fn bad_status_code_is_a_wasm_error() {
    let body = "(call $host_resp_set_status_code (i32.const 42)) (i32.const 0)";
    let (_, f) = build_wat(&module(&["host_resp_set_status_code"], &[], body, ""));
    let mut ctx = context(Method::GET, "/");
    assert_eq!(run(f.as_ref(), &mut ctx), "wasmError");
    // The request and response are still there for the filters after.
    assert!(ctx.request().is_some());
    assert!(ctx.response().is_some());
}

#[test]
fn all_response_headers_round_trip() {
    let body = "(call $host_resp_set_all_header (call $host_resp_get_all_header)) (i32.const 0)";
    let (_, f) = build_wat(&module(
        &["host_resp_get_all_header", "host_resp_set_all_header"],
        &[],
        body,
        "",
    ));
    let mut ctx = context(Method::GET, "/");
    let mut resp = HttpResponse::new(StatusCode::OK);
    resp.headers.append("x-a", HeaderValue::from_static("1"));
    resp.headers.append("x-a", HeaderValue::from_static("2"));
    ctx.set_response(resp);
    assert_eq!(run(f.as_ref(), &mut ctx), "");
    let r = ctx.response().unwrap_or_else(|| panic!("response kept"));
    let values: Vec<&[u8]> = r
        .headers
        .get_all("x-a")
        .iter()
        .map(|v| v.as_bytes())
        .collect();
    assert_eq!(values, vec![&b"1"[..], &b"2"[..]]);
}
