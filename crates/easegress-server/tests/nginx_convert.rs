//! What `egctl convert nginx` generates from the sample configurations of
//! `crates/egctl/tests/nginx` is accepted by the server (a dry run of every object).

use std::path::Path;

use eg_testkit::Server;
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_easegress-server");

/// The sample configurations.
const SAMPLES: &[&str] = &["upstream", "tls", "websocket", "regex", "multi", "debian"];

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir") {
        let e = e.expect("entry");
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).expect("copy");
        }
    }
}

/// The objects converted from sample `name` (with a generated certificate for `tls`).
fn converted(name: &str) -> Vec<Value> {
    let dir = tempfile::tempdir().expect("tempdir");
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../egctl/tests/nginx");
    copy_dir(&samples.join(name), dir.path());
    let pair = eg_testkit::self_signed(&["secure.example.com"]);
    let certs = dir.path().join("certs");
    std::fs::create_dir_all(&certs).expect("mkdir");
    for (file, pem) in [
        ("server.crt", &pair.cert_pem),
        ("server.key", &pair.key_pem),
        ("ca.crt", &pair.cert_pem),
    ] {
        std::fs::write(certs.join(file), pem).expect("write");
    }
    let c = egctl::convert::convert_file(&dir.path().join("nginx.conf"), "nginx")
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    c.all().cloned().collect()
}

fn uses_websocket(object: &Value) -> bool {
    object["filters"]
        .as_array()
        .is_some_and(|f| f.iter().any(|f| f["kind"] == "WebSocketProxy"))
}

#[test]
fn the_server_accepts_every_converted_object() {
    let s = Server::start_new(BIN, "nginx-convert");
    let dry_run = |object: &Value| s.api("POST", "/objects?dryRun=true", &object.to_string());
    // WebSocketProxy pipelines are checked when the server has that filter kind.
    let probe = json!({ "name": "probe", "kind": "Pipeline", "filters": [{
        "name": "websocket", "kind": "WebSocketProxy",
        "pools": [{ "servers": [{ "url": "ws://127.0.0.1:1" }] }] }] });
    let websocket = dry_run(&probe).status == 201;
    let mut checked = 0;
    for name in SAMPLES {
        for object in converted(name) {
            if uses_websocket(&object) && !websocket {
                eprintln!(
                    "{name}: {} not checked: no WebSocketProxy kind",
                    object["name"]
                );
                continue;
            }
            let a = dry_run(&object);
            assert_eq!(a.status, 201, "{name}: {object}\n{}", a.body);
            checked += 1;
        }
    }
    assert!(checked >= 20, "only {checked} objects checked");
    // Nothing was stored.
    let stored = s.api("GET", "/objects", "").json();
    let ours = |o: &&Value| o["name"].as_str().is_some_and(|n| n.starts_with("nginx-"));
    let stored: Vec<&Value> = stored
        .as_array()
        .into_iter()
        .flatten()
        .filter(ours)
        .collect();
    assert!(stored.is_empty(), "{stored:?}");
}
