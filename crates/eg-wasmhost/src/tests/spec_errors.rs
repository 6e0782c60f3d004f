//! Bad specs are refused naming the field.

use http::Method;

use super::*;

fn refused(doc: Value) -> SpecError {
    let (_, sup) = supervisor();
    match build_on(&sup, doc.clone()) {
        Ok(_) => panic!("accepted: {doc}"),
        Err(e) => e,
    }
}

fn ok_code() -> String {
    b64(&module(&[], &[], "(i32.const 0)", ""))
}

#[test]
fn defaults_apply() {
    let (_, sup) = supervisor();
    assert!(build_on(&sup, json!({"code": ok_code()})).is_ok());
    assert_eq!(
        crate::spec::default_spec(),
        json!({"maxConcurrency": 10, "timeout": "100ms"})
    );
}

#[test]
fn numbers_are_checked() {
    for (doc, path, what) in [
        (
            json!({"maxConcurrency": 0}),
            "filters[0].maxConcurrency",
            "must be 1-10000",
        ),
        (
            json!({"maxConcurrency": -3}),
            "filters[0].maxConcurrency",
            "must be 1-10000",
        ),
        (
            json!({"timeout": "soon"}),
            "filters[0].timeout",
            "invalid duration",
        ),
        (json!({"timeout": "0"}), "filters[0].timeout", "more than 0"),
    ] {
        let mut doc = doc;
        doc["code"] = ok_code().into();
        let e = refused(doc);
        assert_eq!(e.path, path);
        assert!(e.message.contains(what), "{e}");
    }
    let e = refused(json!({"code": ok_code(), "maxConcurrency": "x"}));
    assert_eq!(e.path, "filters[0].maxConcurrency");
    let e = refused(json!({"code": ok_code(), "parameters": {"a": 1}}));
    assert!(e.path.starts_with("filters[0].parameters"), "{e}");
}

#[test]
fn code_is_checked() {
    let missing = refused(json!({}));
    assert!(missing.path.starts_with("filters[0]"), "{missing}");
    assert!(missing.message.contains("code"), "{missing}");
    let cases: Vec<(String, &str)> = vec![
        (String::new(), "is required"),
        ("!!not base64!!".into(), "not valid base64"),
        ("/no/such/file.wasm".into(), "not an existing file"),
        (
            base64::engine::general_purpose::STANDARD.encode(b"not wasm"),
            "invalid module",
        ),
        (
            b64("(module (memory (export \"memory\") 1) (func (export \"wasm_alloc\") (param i32) (result i32) (i32.const 0)) (func (export \"wasm_free\") (param i32)))"),
            "must export the function wasm_run",
        ),
        (
            b64("(module (func (export \"wasm_run\") (result i32) (i32.const 0)))"),
            "must export its memory",
        ),
        (
            b64(&module(&[], &[], "(i32.const 0)", "").replacen(
                "(module\n",
                "(module\n(import \"wasi_snapshot_preview1\" \"fd_write\" (func (param i32 i32 i32 i32) (result i32)))\n",
                1,
            )),
            "imports wasi_snapshot_preview1.fd_write",
        ),
        (
            b64(&module(&[], &[], "(i32.const 0)", "").replacen(
                "(module\n",
                "(module\n(import \"easegress\" \"host_no_such\" (func))\n",
                1,
            )),
            "imports easegress.host_no_such",
        ),
        (
            b64(&module(&[], &[], "(i32.const 0)", "").replacen(
                "(module\n",
                "(module\n(import \"easegress\" \"host_log\" (func (param i32)))\n",
                1,
            )),
            "easegress.host_log has type (i32) -> (), expected (i32, i32) -> ()",
        ),
        (
            b64(&module(&[], &[], "(i32.const 0)", "(func (export \"wasm_init\") (param i32) (unreachable))")),
            "wasm_init failed",
        ),
        ("http://".into(), "not valid base64"),
        ("https://:80/x".into(), "invalid URL"),
    ];
    for (code, what) in cases {
        let e = refused(json!({ "code": code }));
        assert_eq!(e.path, "filters[0].code", "{e}");
        assert!(e.message.contains(what), "{what:?} not in {e}");
    }
}

#[test]
fn code_from_a_file_and_unknown_keys() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("f.wasm");
    let bytes = wat::parse_str(module(&[], &[], "(i32.const 0)", "")).unwrap_or_default();
    std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("{e}"));
    let (_, sup) = supervisor();
    let spec = FilterSpec {
        name: "f".into(),
        kind: "WasmHost".into(),
        doc: json!({"name": "f", "kind": "WasmHost", "code": path.to_string_lossy(), "extra": 1}),
        pipeline: "p".into(),
        path: "filters[0]".into(),
    };
    let res = Policies::new();
    let built = (crate::KIND.build)(&spec, &BuildContext::new(&sup, &res))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        built.warnings,
        vec!["filters[0].extra: unknown field, ignored"]
    );
}

#[test]
fn code_at_a_url_is_loaded_later() {
    let (_, sup) = supervisor();
    let f = build_on(&sup, json!({"code": "http://127.0.0.1:9/f.wasm"}))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(f.status()["health"], "VM pool is not initialized");
    let mut ctx = context(Method::GET, "/");
    assert_eq!(run(f.as_ref(), &mut ctx), "outOfVM");
}
