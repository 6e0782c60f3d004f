//! The data plane when the process runs out of file descriptors: an HTTPServer's accept
//! loop backs off instead of spinning, logs sparingly, and serves again once descriptors
//! are free.

use std::time::Duration;

use eg_testkit::{eventually, free_port, http, Server};

const BIN: &str = env!("CARGO_BIN_EXE_easegress-server");

#[test]
fn gateway_accept_errors_back_off_and_are_logged_sparingly() {
    const NOFILE: u64 = 96;
    let mut s = Server::new(BIN, "gateway-emfile");
    s.nofile = Some(NOFILE);
    s.start();
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
    s.assert_accept_backs_off(&gateway, "/");
}
