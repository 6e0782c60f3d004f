//! The WasmHost filter in the real binary: traffic through a module loaded from a file,
//! the `/wasm/code` reload and the `/wasm/data` routes, and `egctl wasm` against them.

use std::time::Duration;

use clap::Parser;
use eg_testkit::{eventually, free_port, http, Server};

const BIN: &str = env!("CARGO_BIN_EXE_easegress-server");

/// A module that counts requests in shared key `hits`, answers `status` and ends the flow
/// (`wasmResult1`) when the request has header `x-block`, and loops forever when it has
/// `x-loop`.
fn module(status: u16) -> Vec<u8> {
    let wat = format!(
        r#"(module
  (import "easegress" "host_req_get_header" (func $get (param i32) (result i32)))
  (import "easegress" "host_resp_set_status_code" (func $status (param i32)))
  (import "easegress" "host_cluster_add_integer" (func $add (param i32 i64) (result i64)))
  (memory (export "memory") 2)
  (data (i32.const 16) "\08\00\00\00x-block\00")
  (data (i32.const 32) "\07\00\00\00x-loop\00")
  (data (i32.const 48) "\05\00\00\00hits\00")
  (global $next (mut i32) (i32.const 65536))
  (func (export "wasm_alloc") (param $n i32) (result i32)
    (local $r i32)
    (local.set $r (global.get $next))
    (global.set $next (i32.add (global.get $next) (local.get $n)))
    (local.get $r))
  (func (export "wasm_free") (param i32))
  (func (export "wasm_run") (result i32)
    (global.set $next (i32.const 65536))
    (drop (call $add (i32.const 48) (i64.const 1)))
    (if (i32.gt_u (i32.load (call $get (i32.const 32))) (i32.const 1))
      (then (loop $l (br $l))))
    (if (i32.gt_u (i32.load (call $get (i32.const 16))) (i32.const 1))
      (then (call $status (i32.const {status})) (return (i32.const 1))))
    (i32.const 0)))"#
    );
    wat::parse_str(wat).expect("test module")
}

fn objects(port: u16, code: &str) -> String {
    format!(
        "name: wasm-server\nkind: HTTPServer\nport: {port}\nrules:\n- paths:\n  - pathPrefix: /\n    backend: wasm-pl\n\
---\nname: wasm-pl\nkind: Pipeline\nflow:\n- filter: wasm\n  jumpIf: {{ wasmResult1: END }}\n- filter: mock\n\
filters:\n- name: wasm\n  kind: WasmHost\n  timeout: 50ms\n  code: {code}\n\
- name: mock\n  kind: Mock\n  rules:\n  - code: 200\n    body: passed\n"
    )
}

fn egctl(server: &Server, args: &[&str]) -> Result<i32, String> {
    let addr = server.api_addr();
    let mut argv = vec!["egctl", "--server", addr.as_str()];
    argv.extend_from_slice(args);
    let cli = egctl::cli::Cli::try_parse_from(argv).map_err(|e| e.to_string())?;
    egctl::cmd::run(cli).map_err(|e| e.to_string())
}

#[test]
fn wasm_filter_reload_and_shared_data() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("filter.wasm");
    std::fs::write(&file, module(403)).expect("write module");
    let s = Server::start_new(BIN, "wasm");
    let port = free_port();
    for doc in objects(port, &file.to_string_lossy()).split("---\n") {
        let r = s.api("POST", "/objects", doc);
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let gate = format!("127.0.0.1:{port}");
    let get = |headers: &[(&str, &str)]| http(&gate, "GET", "/", headers, "").ok();
    let passed = eventually(Duration::from_secs(10), || {
        get(&[]).filter(|a| a.status == 200)
    });
    assert_eq!(passed.body, "passed");
    assert_eq!(get(&[("x-block", "1")]).map(|a| a.status), Some(403));

    // An endless loop is cut at the timeout (`wasmError` ends the flow with the empty
    // response made before the run, as in Easegress); the server keeps serving.
    let looped = get(&[("x-loop", "1")]).expect("an answer to the looping request");
    assert_eq!((looped.status, looped.body.as_str()), (200, ""));
    assert_eq!(get(&[]).map(|a| a.status), Some(200));

    // Shared data: the module's counter, then data applied through the API.
    let data = s.api("GET", "/wasm/data/wasm-pl/wasm", "");
    assert_eq!(data.status, 200, "{}", data.body);
    assert_eq!(data.json()["hits"], "4");
    let put = s.api("PUT", "/wasm/data/wasm-pl/wasm", "greeting: hello\n");
    assert_eq!(put.status, 200, "{}", put.body);
    let data = s.api("GET", "/wasm/data/wasm-pl/wasm", "").json();
    assert_eq!(data["greeting"], "hello");
    assert_eq!(data["hits"], "4");
    let bad = s.api("PUT", "/wasm/data/wasm-pl/wasm", "n: 1\n");
    assert_eq!(bad.status, 400, "{}", bad.body);
    for method in ["GET", "PUT", "DELETE"] {
        let r = s.api(method, "/wasm/data/wasm-pl/mock", "a: b\n");
        assert_eq!(r.status, 404, "{method} of a filter that is not a WasmHost");
        let r = s.api(method, "/wasm/data/nope/wasm", "a: b\n");
        assert_eq!(r.status, 404, "{method} of an unknown pipeline");
    }
    assert_eq!(s.api("DELETE", "/wasm/data/wasm-pl/wasm", "").status, 200);
    assert_eq!(
        s.api("GET", "/wasm/data/wasm-pl/wasm", "").json(),
        serde_json::json!({})
    );

    // Reload: the file changes, `POST /wasm/code` makes the filter read it again.
    std::fs::write(&file, module(418)).expect("rewrite module");
    let posted = s.api("POST", "/wasm/code", "");
    assert_eq!(posted.status, 200);
    assert!(
        posted
            .body
            .starts_with("wasm code reload event posted at: "),
        "{}",
        posted.body
    );
    eventually(Duration::from_secs(10), || {
        get(&[("x-block", "1")]).filter(|a| a.status == 418)
    });

    // egctl wasm, against the same server.
    let yaml = dir.path().join("data.yaml");
    std::fs::write(&yaml, "k1: v1\n---\nk2: v2\n").expect("write data");
    let yaml = yaml.to_string_lossy().into_owned();
    assert_eq!(
        egctl(&s, &["wasm", "apply-data", "wasm-pl", "wasm", "-f", &yaml]),
        Ok(0)
    );
    let data = s.api("GET", "/wasm/data/wasm-pl/wasm", "").json();
    assert_eq!(
        (data["k1"].as_str(), data["k2"].as_str()),
        (Some("v1"), Some("v2"))
    );
    assert_eq!(egctl(&s, &["wasm", "list-data", "wasm-pl", "wasm"]), Ok(0));
    assert_eq!(
        egctl(&s, &["wasm", "delete-data", "wasm-pl", "wasm"]),
        Ok(0)
    );
    assert_eq!(
        s.api("GET", "/wasm/data/wasm-pl/wasm", "").json(),
        serde_json::json!({})
    );
    assert_eq!(egctl(&s, &["wasm", "reload-code"]), Ok(0));
    let missing = egctl(&s, &["wasm", "list-data", "wasm-pl", "nope"]);
    assert!(
        missing.as_ref().is_err_and(|e| e.contains("not found")),
        "{missing:?}"
    );
    let short = egctl(&s, &["wasm", "list-data", "wasm-pl"]);
    assert!(
        short
            .as_ref()
            .is_err_and(|e| e.contains("requires pipeline and filter name")),
        "{short:?}"
    );

    // A spec whose module imports what the host lacks is refused, naming the field.
    let wasi = wat::parse_str(
        "(module (import \"wasi_snapshot_preview1\" \"proc_exit\" (func (param i32))))",
    )
    .expect("wasi module");
    let bad_file = dir.path().join("wasi.wasm");
    std::fs::write(&bad_file, wasi).expect("write");
    let bad = format!(
        "name: wasm-bad\nkind: Pipeline\nfilters:\n- name: w\n  kind: WasmHost\n  code: {}\n",
        bad_file.to_string_lossy()
    );
    let r = s.api("POST", "/objects", &bad);
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.body.contains("filters[0].code") && r.body.contains("wasi_snapshot_preview1.proc_exit"),
        "{}",
        r.body
    );
}
