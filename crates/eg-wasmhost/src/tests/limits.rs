//! Timeouts, traps, memory exhaustion and `maxConcurrency`: a failed run ends with
//! `wasmError`, its instance is replaced, and the next request is served.

use std::sync::Arc;

use http::header::HeaderValue;
use http::Method;

use super::*;

/// A module that fails as `fail` says when the request has header `x-fail`, else returns 0.
fn failing(fail: &str) -> String {
    let strings = ["x-fail"];
    let body = format!(
        "(if (i32.gt_u (i32.load (call $host_req_get_header (i32.const {}))) (i32.const 1))
           (then {fail}))
         (i32.const 0)",
        string_addr(&strings, 0)
    );
    module(&["host_req_get_header"], &strings, &body, "")
}

fn fails_then_serves(wat: &str, timeout: &str) {
    let (_, sup) = supervisor();
    let f = build_on(&sup, json!({"code": b64(wat), "timeout": timeout}))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut bad = context(Method::GET, "/");
    if let Some(h) = bad.request_mut().map(|r| r.headers_mut()) {
        h.insert("x-fail", HeaderValue::from_static("1"));
    }
    assert_eq!(run(f.as_ref(), &mut bad), "wasmError");
    assert!(bad.request().is_some(), "the request survives a failed run");
    for _ in 0..3 {
        let mut good = context(Method::GET, "/");
        assert_eq!(run(f.as_ref(), &mut good), "");
    }
    let status = f.status();
    assert_eq!(status["numOfWasmError"], 1);
    assert_eq!(status["numOfRequest"], 4);
    assert_eq!(
        status["numOfVM"], 2,
        "the failed instance was replaced once"
    );
}

#[test]
fn endless_loop_is_interrupted() {
    fails_then_serves(&failing("(loop $l (br $l))"), "20ms");
}

#[test]
fn trap_is_a_wasm_error() {
    fails_then_serves(&failing("(unreachable)"), "100ms");
}

#[test]
fn memory_exhaustion_is_a_wasm_error() {
    // Grows by 1 MiB until refused; the refusal traps.
    fails_then_serves(
        &failing("(loop $l (drop (memory.grow (i32.const 16))) (br $l))"),
        "1s",
    );
}

#[test]
fn out_of_bounds_address_is_a_wasm_error() {
    let body = "(call $host_req_set_method (i32.const -8)) (i32.const 0)";
    let (_, f) = build_wat(&module(&["host_req_set_method"], &[], body, ""));
    let mut ctx = context(Method::GET, "/");
    assert_eq!(run(f.as_ref(), &mut ctx), "wasmError");
    assert_eq!(ctx.request().map(|r| r.method().clone()), Some(Method::GET));
}

#[test]
fn instances_stay_within_max_concurrency() {
    // Each run spins a while so that runs overlap on the worker threads.
    let body = "(local $i i32)
         (loop $l (local.set $i (i32.add (local.get $i) (i32.const 1)))
           (br_if $l (i32.lt_u (local.get $i) (i32.const 200000))))
         (i32.const 0)";
    let (_, sup) = supervisor();
    let f: Arc<dyn Filter> = Arc::from(
        build_on(
            &sup,
            json!({"code": b64(&module(&[], &[], body, "")), "maxConcurrency": 2}),
        )
        .unwrap_or_else(|e| panic!("{e}")),
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    rt.block_on(async {
        let mut tasks = Vec::new();
        for _ in 0..32 {
            let f = f.clone();
            tasks.push(tokio::spawn(async move {
                let mut ctx = context(Method::GET, "/");
                f.handle(&mut ctx).result().await
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap_or("join failed"), "");
        }
    });
    let status = f.status();
    assert_eq!(status["numOfRequest"], 32);
    assert!(
        status["numOfVM"]
            .as_u64()
            .is_some_and(|n| (1..=2).contains(&n)),
        "{status}"
    );
}
