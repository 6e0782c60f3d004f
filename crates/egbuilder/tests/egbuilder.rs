//! Easegress's `TestEgbuilder`, translated: scaffold a crate with two filter and three
//! controller kinds in two steps, build a server with it (a dev build sharing this
//! workspace's target directory, offline), then drive the kinds through that server with
//! `egctl` and an HTTPServer.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use eg_testkit::{eventually, free_port, http, Server};

const EGBUILDER: &str = env!("CARGO_BIN_EXE_egbuilder");
/// How long the server may take to serve a new HTTPServer.
const ROUTE_TIMEOUT: Duration = Duration::from_secs(15);

const CONTROLLERS: &str = "\
name: c1
kind: MyController1
---
name: c2
kind: MyController2
---
name: c3
kind: MyController3
";

/// This workspace's target directory: the build shares it, so only the plugin crate and
/// the server's `main` are compiled. Cargo holds no lock on it while tests run.
fn target_dir() -> PathBuf {
    let bin = Path::new(EGBUILDER);
    let profile_dir = bin.parent().expect("the profile directory");
    profile_dir
        .parent()
        .expect("the target directory")
        .to_path_buf()
}

fn checkout() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn egbuilder(dir: &Path, args: &[&str]) -> Output {
    let out = Command::new(EGBUILDER)
        .args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target_dir())
        .env("CARGO_NET_OFFLINE", "true")
        .stdin(Stdio::null())
        .output()
        .expect("run egbuilder");
    assert!(
        out.status.success(),
        "egbuilder {args:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

struct Egctl {
    bin: PathBuf,
    server: String,
}

impl Egctl {
    /// Runs egctl with `stdin`; returns stdout, asserting success and an empty stderr.
    fn run(&self, args: &[&str], stdin: &str) -> String {
        let mut child = Command::new(&self.bin)
            .args(["--server", &self.server])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run egctl");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin.as_bytes())
            .expect("write stdin");
        let out = child.wait_with_output().expect("egctl output");
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        );
        assert!(out.status.success(), "egctl {args:?}: {stdout}\n{stderr}");
        assert!(stderr.is_empty(), "egctl {args:?}: {stderr}");
        stdout
    }
}

#[test]
fn builds_and_runs_a_server_with_custom_kinds() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let plugin = tmp.path().join("plugin");
    std::fs::create_dir(&plugin).expect("plugin dir");
    let eg = checkout();
    let eg = eg.to_str().expect("a UTF-8 path");

    let out = egbuilder(
        &plugin,
        &[
            "init",
            "--repo",
            "github.com/test/repo",
            "--filters=MyFilter1",
            "--controllers=MyController1,MyController2",
            "--easegress-path",
            eg,
        ],
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("generated filter MyFilter1"));
    egbuilder(
        &plugin,
        &["add", "--filters=MyFilter2", "--controllers=MyController3"],
    );
    let again = Command::new(EGBUILDER)
        .args(["add", "--filters=MyFilter2"])
        .current_dir(&plugin)
        .output()
        .expect("run egbuilder");
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("filter MyFilter2 already exists"));

    let bin = tmp.path().join("bin");
    let started = Instant::now();
    egbuilder(
        &plugin,
        &[
            "build",
            "-f",
            "build.yaml",
            "-o",
            bin.to_str().expect("a UTF-8 path"),
            "--profile",
            "dev",
        ],
    );
    eprintln!("egbuilder build took {:.1?}", started.elapsed());

    let mut server = Server::new(bin.join("easegress-server"), "egbuilder");
    server.start();
    let egctl = Egctl {
        bin: bin.join("egctl"),
        server: format!("http://{}", server.api_addr()),
    };
    let kinds = [
        ("c1", "MyController1"),
        ("c2", "MyController2"),
        ("c3", "MyController3"),
    ];

    let out = egctl.run(&["create", "-f", "-"], CONTROLLERS);
    for (name, kind) in kinds {
        assert!(
            out.contains(&format!("create {kind} {name} successfully")),
            "{out}"
        );
    }
    let all = egctl.run(&["get", "all"], "");
    for (name, kind) in kinds {
        assert!(all.contains(name) && all.contains(kind), "{all}");
    }
    let out = egctl.run(&["apply", "-f", "-"], CONTROLLERS);
    for (name, kind) in kinds {
        assert!(
            out.contains(&format!("update {kind} {name} successfully")),
            "{out}"
        );
    }
    let status = egctl.run(&["describe", "mycontroller1", "c1"], "");
    assert!(status.contains("hello from MyController1"), "{status}");
    for (name, kind) in kinds {
        let out = egctl.run(&["delete", kind, name], "");
        assert!(
            out.contains(&format!("delete {kind} {name} successfully")),
            "{out}"
        );
    }
    let all = egctl.run(&["get", "all"], "");
    for (name, kind) in kinds {
        assert!(!all.contains(name) && !all.contains(kind), "{all}");
    }

    let port = free_port();
    let objects = format!(
        r#"name: httpserver
kind: HTTPServer
port: {port}
rules:
- paths:
  - backend: pipeline
---
name: pipeline
kind: Pipeline
flow:
- filter: filter1
- filter: filter2
- filter: mock
filters:
- name: filter1
  kind: MyFilter1
- name: filter2
  kind: MyFilter2
  header: X-Second
  value: two
- name: mock
  kind: ResponseBuilder
  template: |
    statusCode: 200
    headers:
      X-Seen: ['{{{{.req.Header.Get "X-MyFilter1"}}}},{{{{.req.Header.Get "X-Second"}}}}']
    body: body from response builder
"#
    );
    let out = egctl.run(&["create", "-f", "-"], &objects);
    assert!(
        out.contains("create Pipeline pipeline successfully"),
        "{out}"
    );
    let gateway = format!("127.0.0.1:{port}");
    let answer = eventually(ROUTE_TIMEOUT, || {
        http(&gateway, "GET", "/", &[], "")
            .ok()
            .filter(|a| a.status == 200)
    });
    assert_eq!(answer.body, "body from response builder");
    assert_eq!(answer.header("x-seen"), Some("MyFilter1,two"), "{answer:?}");

    assert_eq!(server.stop(), Some(0), "a clean stop");
}
