//! Tests with small modules written in WebAssembly text, compiled at test time.

mod abi_request;
mod abi_response;
mod abi_shared;
mod limits;
mod spec_errors;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use base64::Engine as _;
use eg_filters::resilience::Policies;
use eg_filters::{BuildContext, Filter, FilterSpec};
use eg_protocols::{Context, HttpRequest};
use eg_spec::SpecError;
use eg_store::{MemStore, Store};
use eg_supervisor::{KindRegistry, MemberInfo, Supervisor};
use http::Method;
use serde_json::{json, Value};

use crate::abi::FUNCTIONS;

/// Where the test modules' constant strings start.
pub const DATA_AT: u32 = 1024;

/// A module importing `imports`, with constant strings `strings` (each at the address
/// `string_addr` gives) and `body` as the body of `wasm_run` (which must leave an i32);
/// `extra` is added to the module (more functions, `wasm_init`).
pub fn module(imports: &[&str], strings: &[&str], body: &str, extra: &str) -> String {
    let mut wat = String::from("(module\n");
    for name in imports {
        let (_, params, results) = FUNCTIONS
            .iter()
            .find(|(n, _, _)| n == name)
            .unwrap_or_else(|| panic!("no host function {name}"));
        let params: Vec<&str> = params.to_vec();
        let results: Vec<&str> = results.to_vec();
        wat.push_str(&format!(
            "  (import \"easegress\" \"{name}\" (func ${name} (param {}) (result {})))\n",
            params.join(" "),
            results.join(" ")
        ));
    }
    wat.push_str(
        r#"  (memory (export "memory") 2)
  (global $next (mut i32) (i32.const 65536))
  (func (export "wasm_alloc") (param $n i32) (result i32)
    (local $r i32)
    (local.set $r (global.get $next))
    (global.set $next (i32.and (i32.add (i32.add (global.get $next) (local.get $n)) (i32.const 7)) (i32.const -8)))
    (if (i32.gt_u (global.get $next) (i32.mul (memory.size) (i32.const 65536)))
      (then (drop (memory.grow (i32.add (i32.div_u (global.get $next) (i32.const 65536)) (i32.const 1))))))
    (local.get $r))
  (func (export "wasm_free") (param i32))
"#,
    );
    let mut at = DATA_AT;
    for s in strings {
        let mut bytes = ((s.len() + 1) as u32).to_le_bytes().to_vec();
        bytes.extend_from_slice(s.as_bytes());
        bytes.push(0);
        let escaped: String = bytes.iter().map(|b| format!("\\{b:02x}")).collect();
        wat.push_str(&format!("  (data (i32.const {at}) \"{escaped}\")\n"));
        at += bytes.len() as u32 + 8;
    }
    wat.push_str(&format!(
        "  (func (export \"wasm_run\") (result i32)\n{body})\n{extra})\n"
    ));
    wat
}

/// The address of constant string `i` of `strings` in [`module`].
pub fn string_addr(strings: &[&str], i: usize) -> u32 {
    DATA_AT
        + strings[..i]
            .iter()
            .map(|s| s.len() as u32 + 5 + 8)
            .sum::<u32>()
}

/// `wat` compiled and encoded in base64, as a `code` field.
pub fn b64(wat: &str) -> String {
    let bytes = wat::parse_str(wat).unwrap_or_else(|e| panic!("bad test module: {e}\n{wat}"));
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A store and a supervisor over it.
pub fn supervisor() -> (Arc<dyn Store>, Supervisor) {
    let store: Arc<dyn Store> = Arc::new(MemStore::new());
    let sup = Supervisor::new(
        KindRegistry::new(),
        store.clone(),
        MemberInfo::standalone("t"),
    );
    (store, sup)
}

/// Builds filter `f` of pipeline `p` from `doc` on `sup` (checking that the admin API's
/// check agrees).
pub fn build_on(sup: &Supervisor, mut doc: Value) -> Result<Box<dyn Filter>, SpecError> {
    if let Some(m) = doc.as_object_mut() {
        m.insert("name".into(), "f".into());
        m.insert("kind".into(), "WasmHost".into());
    }
    let spec = FilterSpec {
        name: "f".into(),
        kind: "WasmHost".into(),
        doc,
        pipeline: "p".into(),
        path: "filters[0]".into(),
    };
    let res = Policies::new();
    let ctx = BuildContext::new(sup, &res);
    let checked = crate::KIND.validate(&spec, &ctx).map(drop);
    let built = (crate::KIND.build)(&spec, &ctx);
    assert_eq!(
        checked.as_ref().err(),
        built.as_ref().err(),
        "check and build agree"
    );
    built.map(|b| b.filter)
}

/// Builds a filter running `wat` with the default limits.
pub fn build_wat(wat: &str) -> (Arc<dyn Store>, Box<dyn Filter>) {
    let (store, sup) = supervisor();
    let f = build_on(&sup, json!({"code": b64(wat)})).unwrap_or_else(|e| panic!("{e}"));
    (store, f)
}

/// A context for `method uri`.
pub fn context(method: Method, uri: &str) -> Context {
    let req = HttpRequest::simple(method, uri).unwrap_or_else(|e| panic!("{e}"));
    let ip = IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3));
    Context::new(req, SocketAddr::new(ip, 5555), ip)
}

/// Runs `filter` on `ctx`.
pub fn run(filter: &dyn Filter, ctx: &mut Context) -> &'static str {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    rt.block_on(filter.handle(ctx).result())
}

/// The response header `name` of `ctx`.
pub fn resp_header(ctx: &Context, name: &str) -> String {
    ctx.response()
        .and_then(|r| r.headers.get(name))
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default()
}

#[test]
fn results_map_codes() {
    for (code, want) in [(0, ""), (1, "wasmResult1"), (9, "wasmResult9")] {
        let (_, f) = build_wat(&module(&[], &[], &format!("(i32.const {code})"), ""));
        let mut ctx = context(Method::GET, "/");
        assert_eq!(run(f.as_ref(), &mut ctx), want);
        // Easegress creates an empty 200 response before the run.
        assert_eq!(ctx.response().map(|r| r.status.as_u16()), Some(200));
    }
    for bad in [10, -1] {
        let (_, f) = build_wat(&module(&[], &[], &format!("(i32.const {bad})"), ""));
        let mut ctx = context(Method::GET, "/");
        assert_eq!(run(f.as_ref(), &mut ctx), "wasmError");
        assert_eq!(f.status()["numOfWasmError"], 1);
    }
}

#[test]
fn every_host_function_links() {
    let names: Vec<&str> = FUNCTIONS.iter().map(|(n, _, _)| *n).collect();
    let (_, f) = build_wat(&module(&names, &[], "(i32.const 0)", ""));
    let mut ctx = context(Method::GET, "/");
    assert_eq!(run(f.as_ref(), &mut ctx), "");
    assert_eq!(f.status()["health"], "ready");
    assert_eq!(f.status()["numOfRequest"], 1);
}

/// The module of the developer guide's "Write a Wasm filter" section works as it says.
#[test]
fn developer_guide_example() {
    let guide = include_str!("../../../../docs/developer-guide.md");
    let wat = guide
        .split("```wat\n")
        .nth(1)
        .and_then(|rest| rest.split("\n```").next())
        .unwrap_or_else(|| panic!("no wat block in the guide"));
    let (_, f) = build_wat(wat);
    let mut refused = context(Method::GET, "/");
    assert_eq!(run(f.as_ref(), &mut refused), "wasmResult1");
    assert_eq!(refused.response().map(|r| r.status.as_u16()), Some(401));
    for _ in 0..3 {
        let mut ok = context(Method::GET, "/");
        if let Some(h) = ok.request_mut().map(|r| r.headers_mut()) {
            h.insert("x-token", http::HeaderValue::from_static("t"));
        }
        assert_eq!(run(f.as_ref(), &mut ok), "");
    }
}
