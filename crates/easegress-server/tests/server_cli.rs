//! The server's flags, environment variables and config file.

use std::time::Duration;

use base64::Engine;
use eg_testkit::{eventually, free_port, http, Server};

const BIN: &str = env!("CARGO_BIN_EXE_easegress-server");

#[test]
fn version_help_and_bad_flags() {
    let out = Server::run_once(BIN, &["--version"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("Easegress"));
    let help = Server::run_once(BIN, &["--help"]);
    assert!(help.status.success());
    let text = String::from_utf8_lossy(&help.stdout);
    for flag in [
        "--name",
        "--cluster-role",
        "--api-addr",
        "--initial-object-config-files",
        "--config-file",
    ] {
        assert!(text.contains(flag), "{flag} missing");
    }
    let bad = Server::run_once(BIN, &["--cluster-role", "bogus"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("cluster-role"));
    let bad = Server::run_once(BIN, &["--no-such-flag"]);
    assert!(!bad.status.success());
}

#[test]
fn environment_sets_the_name_and_pidfile_is_written() {
    let mut s = Server::new(BIN, "ignored");
    s.env
        .push(("EASEGRESS_CLUSTER_NAME".into(), "env-cluster".into()));
    s.start();
    let m = s.api("GET", "/status/members", "").json();
    assert_eq!(m[0]["options"]["ClusterName"], "env-cluster");
    let pid = std::fs::read_to_string(s.home().join("easegress.pid")).unwrap();
    assert!(pid.trim().parse::<u32>().is_ok());
    assert_eq!(s.stop(), Some(0));
    assert!(
        !s.home().join("easegress.pid").exists(),
        "pidfile removed on stop"
    );
}

#[test]
fn config_file_with_basic_auth() {
    let mut s = Server::new(BIN, "cfg");
    let cfg = s.path("config.yaml");
    std::fs::write(
        &cfg,
        format!(
            "name: cfg-member\ncluster-name: cfg-cluster\napi-addr: {}\nbasic-auth:\n  admin: s3cret\n",
            s.api_addr()
        ),
    )
    .unwrap();
    s.extra = vec!["--config-file".into(), cfg.display().to_string()];
    s.name = "cfg-member".into();
    s.auth = Some(format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("admin:s3cret")
    ));
    s.start();
    let anon = http(&s.api_addr(), "GET", "/apis/v2/healthz", &[], "").unwrap();
    assert_eq!(anon.status, 401);
    assert!(anon
        .header("WWW-Authenticate")
        .unwrap()
        .contains("easegress-basic-auth"));
    let wrong = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("admin:nope")
    );
    assert_eq!(
        http(
            &s.api_addr(),
            "GET",
            "/apis/v2/objects",
            &[("Authorization", &wrong)],
            ""
        )
        .unwrap()
        .status,
        401
    );
    let m = s.api("GET", "/status/members", "").json();
    assert_eq!(m[0]["options"]["ClusterName"], "cfg-cluster");
}

#[test]
fn initial_object_files_are_created_once() {
    let mut s = Server::new(BIN, "initial");
    let port = free_port();
    let f1 = s.path("pl.yaml");
    let f2 = s.path("hs.yaml");
    std::fs::write(&f1, "name: pl-i\nkind: Pipeline\nfilters:\n- name: m\n  kind: Mock\n  rules:\n  - code: 200\n    body: init\n").unwrap();
    std::fs::write(&f2, format!("name: hs-i\nkind: HTTPServer\nport: {port}\nrules:\n- paths:\n  - pathPrefix: /\n    backend: pl-i\n")).unwrap();
    s.extra = vec![
        "--initial-object-config-files".into(),
        format!("{},{}", f1.display(), f2.display()),
    ];
    s.start();
    let addr = format!("127.0.0.1:{port}");
    let body = eventually(Duration::from_secs(20), || {
        http(&addr, "GET", "/", &[], "")
            .ok()
            .filter(|a| a.status == 200)
            .map(|a| a.body)
    });
    assert_eq!(body, "init");
    // Changed through the API, then restarted: the file does not overwrite the stored object.
    let upd = "name: pl-i\nkind: Pipeline\nfilters:\n- name: m\n  kind: Mock\n  rules:\n  - code: 200\n    body: changed\n";
    assert_eq!(s.api("PUT", "/objects/pl-i", upd).status, 200);
    s.stop();
    s.start();
    assert_eq!(
        s.api("GET", "/objects/pl-i", "").json()["filters"][0]["rules"][0]["body"],
        "changed"
    );
}

#[test]
fn json_log_format_writes_one_object_per_line() {
    let mut s = Server::new(BIN, "json-log");
    s.extra = vec!["--log-format".into(), "json".into()];
    s.start();
    let a = s.api("PUT", "/logs/level/debug", "");
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(s.stop(), Some(0));
    let log = s.system_log();
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(lines.len() >= 3, "{log}");
    for l in &lines {
        assert!(l["timestamp"].is_string() && l["level"].is_string(), "{l}");
    }
    // Fields sit beside the message, at the top level.
    let start = lines
        .iter()
        .find(|l| l["message"] == "easegress-server starting")
        .expect("the start line");
    assert_eq!(start["name"], "json-log");
    assert!(lines
        .iter()
        .any(|l| l["message"] == "easegress-server stopped"));

    let bad = Server::run_once(BIN, &["--log-format", "xml"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("log-format"));
}

/// `--worker-threads 1` runs everything on one event loop (tokio's current-thread
/// runtime): the admin API, an applied HTTPServer proxying to an upstream over kept-alive
/// connections, a configuration change, and a clean stop.
#[test]
fn one_worker_thread_serves_the_api_and_the_gateway() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let up = rt.block_on(eg_testkit::Upstream::start(|s| {
        eg_testkit::Reply::text(200, &format!("upstream saw {}", s.target))
    }));
    let mut s = Server::new(BIN, "one-thread");
    s.extra = vec!["--worker-threads".into(), "1".into()];
    s.start();
    let pipeline = format!(
        "name: pl\nkind: Pipeline\nfilters:\n- name: proxy\n  kind: Proxy\n  pools:\n  - servers:\n    - url: {}\n",
        up.url()
    );
    assert_eq!(s.api("POST", "/objects", &pipeline).status, 201);
    let port = free_port();
    let gw = format!(
        "name: gw\nkind: HTTPServer\nport: {port}\naddress: 127.0.0.1\nrules:\n- paths:\n  - pathPrefix: /\n    backend: pl\n"
    );
    assert_eq!(s.api("POST", "/objects", &gw).status, 201);
    let addr = format!("127.0.0.1:{port}");
    let body = eventually(Duration::from_secs(10), || {
        http(&addr, "GET", "/a", &[], "")
            .ok()
            .filter(|a| a.status == 200)
            .map(|a| a.body)
    });
    assert_eq!(body, "upstream saw /a");
    for i in 0..20 {
        let a = http(&addr, "GET", &format!("/n{i}"), &[], "").expect("answer");
        assert_eq!((a.status, a.body), (200, format!("upstream saw /n{i}")));
    }
    assert_eq!(up.hits(), 21);
    // A change applied through the API reaches the next request.
    let mock = "name: pl\nkind: Pipeline\nfilters:\n- name: mock\n  kind: Mock\n  rules:\n  - code: 203\n    body: mocked\n";
    assert_eq!(s.api("PUT", "/objects/pl", mock).status, 200);
    let a = eventually(Duration::from_secs(10), || {
        http(&addr, "GET", "/b", &[], "")
            .ok()
            .filter(|a| a.status == 203)
    });
    assert_eq!(a.body, "mocked");
    assert!(s
        .system_log()
        .contains("runtime: one event loop on the main thread"));
    assert_eq!(s.stop(), Some(0), "a clean stop");
}

/// Without `--worker-threads`, one worker per CPU this process may use.
#[test]
fn the_default_runtime_has_a_worker_per_cpu() {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut s = Server::new(BIN, "default-threads");
    s.start();
    let log = s.system_log();
    let line = log
        .lines()
        .find(|l| l.contains("runtime: "))
        .expect("the runtime is logged at start-up");
    assert!(line.contains(&format!("threads={cpus}")), "{line}");
    let kind = if cpus == 1 {
        "one event loop on the main thread"
    } else {
        "one worker thread per CPU"
    };
    assert!(line.contains(kind), "{line}");
    assert_eq!(s.stop(), Some(0));
}
