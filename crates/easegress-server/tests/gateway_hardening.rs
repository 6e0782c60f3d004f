//! The data plane when the process runs out of file descriptors: an HTTPServer's accept
//! loop backs off instead of spinning, logs sparingly, and serves again once descriptors
//! are free.

use std::time::Duration;

use eg_testkit::{cpu_ticks_during, eventually, exhaust_fds, free_port, http, Server};

const BIN: &str = env!("CARGO_BIN_EXE_easegress-server");

#[test]
fn gateway_accept_errors_back_off_and_are_logged_sparingly() {
    const NOFILE: u64 = 96;
    let mut s = Server::new(BIN, "gateway-emfile");
    s.nofile = Some(NOFILE);
    s.start();
    let pid = s.pid().expect("pid");
    let port = free_port();
    let gateway = format!("127.0.0.1:{port}");
    let pipeline = "name: pl\nkind: Pipeline\nfilters:\n- name: mock\n  kind: Mock\n  rules:\n  - code: 200\n    body: ok\n";
    assert_eq!(s.api("POST", "/objects", pipeline).status, 201);
    let server = format!(
        "name: hs\nkind: HTTPServer\nport: {port}\naddress: 127.0.0.1\nrules:\n- paths:\n  - pathPrefix: /\n    backend: pl\n"
    );
    assert_eq!(s.api("POST", "/objects", &server).status, 201);
    eventually(Duration::from_secs(15), || {
        http(&gateway, "GET", "/", &[], "")
            .ok()
            .filter(|a| a.status == 200)
    });

    // More connections than descriptors: the kernel completes them, the server cannot
    // accept them all.
    let conns = exhaust_fds(pid, &gateway, NOFILE);
    let cpu = cpu_ticks_during(pid, Duration::from_secs(2));
    let log = s.system_log();
    let lines = log.lines().filter(|l| l.contains("accept failed")).count();
    assert!(lines >= 1, "the failure is reported:\n{log}");
    assert!(
        lines < 100,
        "{lines} lines about accept failures in about 2 s"
    );
    // 100 ticks a second: a spinning accept loop burns about 200 in 2 s.
    assert!(cpu < 50, "{cpu} clock ticks of CPU in 2 s");

    drop(conns);
    eventually(Duration::from_secs(15), || {
        http(&gateway, "GET", "/", &[], "")
            .ok()
            .filter(|a| a.status == 200)
    });
}
