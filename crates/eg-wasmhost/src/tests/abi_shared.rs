//! Shared data, parameters, tags, logs, time and random numbers.

use http::Method;

use super::*;

#[test]
fn shared_data_is_stored_per_filter() {
    let strings = ["name", "alice", "hits", "ratio", "bin", "n"];
    let a = |i| string_addr(&strings, i);
    // put_string(name, alice); add_integer(hits, 2) twice; add_float(ratio, 0.5);
    // put_binary(bin, bytes of "alice" record); result = get_integer(hits) (4 -> wasmResult4)
    // only when get_string(name) has the length of "alice" + NUL and count_key("n") = 1.
    let body = format!(
        "(call $host_cluster_put_string (i32.const {name}) (i32.const {alice}))
         (drop (call $host_cluster_add_integer (i32.const {hits}) (i64.const 2)))
         (drop (call $host_cluster_add_integer (i32.const {hits}) (i64.const 2)))
         (drop (call $host_cluster_add_float (i32.const {ratio}) (f64.const 0.5)))
         (call $host_cluster_put_float (i32.const {ratio}) (f64.add (call $host_cluster_get_float (i32.const {ratio})) (f64.const 1)))
         (call $host_cluster_put_binary (i32.const {bin}) (call $host_cluster_get_binary (i32.const {bin})))
         (call $host_cluster_put_integer (i32.const {n}) (i64.const 7))
         (if (i32.ne (i32.load (call $host_cluster_get_string (i32.const {name}))) (i32.const 6))
           (then (return (i32.const 9))))
         (if (i32.ne (call $host_cluster_count_key (i32.const {n})) (i32.const 2))
           (then (return (i32.const 8))))
         (i32.wrap_i64 (call $host_cluster_get_integer (i32.const {hits})))",
        name = a(0),
        alice = a(1),
        hits = a(2),
        ratio = a(3),
        bin = a(4),
        n = a(5),
    );
    let (store, f) = build_wat(&module(
        &[
            "host_cluster_put_string",
            "host_cluster_get_string",
            "host_cluster_add_integer",
            "host_cluster_get_integer",
            "host_cluster_put_integer",
            "host_cluster_add_float",
            "host_cluster_get_float",
            "host_cluster_put_float",
            "host_cluster_get_binary",
            "host_cluster_put_binary",
            "host_cluster_count_key",
        ],
        &strings,
        &body,
        "",
    ));
    // "name" and "n" both start with "n": count_key("n") is 2.
    let mut ctx = context(Method::GET, "/");
    assert_eq!(run(f.as_ref(), &mut ctx), "wasmResult4");
    let get = |k: &str| {
        store
            .get(&format!("/wasm/data/p/f/{k}"))
            .ok()
            .flatten()
            .map(|v| String::from_utf8_lossy(&v).into_owned())
    };
    assert_eq!(get("name").as_deref(), Some("alice"));
    assert_eq!(get("hits").as_deref(), Some("4"));
    assert_eq!(get("ratio").as_deref(), Some("1.5"));
    assert_eq!(get("n").as_deref(), Some("7"));
    // An absent binary reads as empty bytes, stored back as empty base64.
    assert_eq!(get("bin").as_deref(), Some(""));
}

#[test]
fn parameters_reach_wasm_init() {
    // wasm_init keeps the parameter array's address; wasm_run sets a response header named
    // by the first parameter name to its value, and returns the count of strings.
    let extra = r#"
  (global $params (mut i32) (i32.const 0))
  (func (export "wasm_init") (param $p i32) (global.set $params (local.get $p)))"#;
    let body = "(call $host_resp_set_header
           (i32.add (global.get $params) (i32.const 4))
           (i32.add (i32.add (global.get $params) (i32.const 8))
                    (i32.load (i32.add (global.get $params) (i32.const 4)))))
         (i32.load (global.get $params))";
    let (_, sup) = supervisor();
    let f = build_on(
        &sup,
        json!({"code": b64(&module(&["host_resp_set_header"], &[], body, extra)),
               "parameters": {"x-param": "yes"}}),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mut ctx = context(Method::GET, "/");
    assert_eq!(run(f.as_ref(), &mut ctx), "wasmResult2");
    assert_eq!(resp_header(&ctx, "x-param"), "yes");
}

#[test]
fn tags_logs_time_and_random() {
    let strings = ["from wasm", "a log line"];
    let body = format!(
        "(call $host_add_tag (i32.const {}))
         (call $host_log (i32.const 1) (i32.const {}))
         (call $host_log (i32.const 7) (i32.const {}))
         (if (i64.lt_s (call $host_get_unix_time_in_ms) (i64.const 1600000000000))
           (then (return (i32.const 1))))
         (if (f64.ge (call $host_rand) (f64.const 1)) (then (return (i32.const 2))))
         (if (f64.lt (call $host_rand) (f64.const 0)) (then (return (i32.const 3))))
         (i32.const 0)",
        string_addr(&strings, 0),
        string_addr(&strings, 1),
        string_addr(&strings, 1),
    );
    let (_, f) = build_wat(&module(
        &[
            "host_add_tag",
            "host_log",
            "host_get_unix_time_in_ms",
            "host_rand",
        ],
        &strings,
        &body,
        "",
    ));
    let mut ctx = context(Method::GET, "/");
    assert_eq!(run(f.as_ref(), &mut ctx), "");
    let tags: Vec<String> = ctx.tags.iter().map(|t| t.text().into_owned()).collect();
    assert_eq!(tags, vec!["from wasm".to_string()]);
}
