//! The admin API under hostile or careless clients: descriptor exhaustion, silent and slow
//! connections, web pages (CSRF, DNS rebinding), oversized specs and credentials.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use base64::Engine;
use eg_testkit::{
    closed_within, eventually, http, raw, self_signed, status_of, Server, START_TIMEOUT,
};

const BIN: &str = env!("CARGO_BIN_EXE_easegress-server");

#[test]
fn accept_errors_back_off_and_are_logged_sparingly() {
    const NOFILE: u64 = 96;
    let mut s = Server::new(BIN, "accept-emfile");
    s.nofile = Some(NOFILE);
    s.start();
    s.assert_accept_backs_off(&s.api_addr(), "/apis/v2/healthz");
}

#[test]
fn a_silent_connection_is_closed_after_the_read_header_timeout() {
    let mut s = Server::new(BIN, "silent-conn");
    s.extra = vec!["--api-read-header-timeout".into(), "1s".into()];
    s.start();
    let mut c = TcpStream::connect(s.api_addr()).unwrap();
    let took = closed_within(&mut c, Duration::from_secs(5));
    assert!(
        took.is_some_and(|t| t >= Duration::from_millis(800)),
        "closed after {took:?}"
    );
    // A client that starts a request but never finishes its header is closed too.
    let mut c = TcpStream::connect(s.api_addr()).unwrap();
    c.write_all(b"GET /apis/v2/healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .unwrap();
    assert!(closed_within(&mut c, Duration::from_secs(5)).is_some());
    assert_eq!(s.api("GET", "/healthz", "").status, 200);
}

#[test]
fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let mut s = Server::new(BIN, "idle-conn");
    s.extra = vec!["--api-idle-timeout".into(), "1s".into()];
    s.start();
    let mut c = TcpStream::connect(s.api_addr()).unwrap();
    c.write_all(b"GET /apis/v2/healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .unwrap();
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = [0u8; 4096];
    let n = c.read(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    let took = closed_within(&mut c, Duration::from_secs(5));
    assert!(took.is_some(), "the idle connection stayed open");
}

#[test]
fn a_body_that_never_arrives_gets_408() {
    let mut s = Server::new(BIN, "slow-body");
    s.extra = vec!["--api-read-timeout".into(), "1s".into()];
    s.start();
    let start = Instant::now();
    let answer = raw(
        &s.api_addr(),
        "POST /apis/v2/objects HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\nname: x\n",
    );
    assert_eq!(status_of(&answer), 408, "{answer}");
    assert!(start.elapsed() < Duration::from_secs(5));
}

#[test]
fn with_the_connection_cap_reached_a_new_client_waits_for_a_free_slot() {
    let mut s = Server::new(BIN, "conn-cap");
    s.extra = vec![
        "--api-max-connections".into(),
        "4".into(),
        "--api-read-header-timeout".into(),
        "1s".into(),
    ];
    s.start();
    // Let the readiness poll's connection go.
    std::thread::sleep(Duration::from_millis(300));
    let silent: Vec<TcpStream> = (0..4)
        .map(|_| TcpStream::connect(s.api_addr()).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    let start = Instant::now();
    let answer = s.api("GET", "/healthz", "");
    let waited = start.elapsed();
    assert_eq!(answer.status, 200);
    assert!(
        waited >= Duration::from_millis(400),
        "served after {waited:?}: the cap did not hold"
    );
    assert!(waited < Duration::from_secs(5), "served after {waited:?}");
    drop(silent);
}

#[test]
fn a_silent_tls_client_is_closed_after_the_read_header_timeout() {
    let cert = self_signed(&["127.0.0.1"]);
    let mut s = Server::new(BIN, "silent-tls");
    s.use_tls(&cert.cert_pem, &cert.key_pem);
    s.extra
        .extend(["--api-read-header-timeout".into(), "1s".into()]);
    s.spawn_only();
    let addr = s.api_addr();
    let mut c = eventually(START_TIMEOUT, || TcpStream::connect(&addr).ok());
    assert!(closed_within(&mut c, Duration::from_secs(5)).is_some());
}

fn mock_pipeline(name: &str) -> String {
    format!("name: {name}\nkind: Pipeline\nfilters:\n- name: mock\n  kind: Mock\n  rules:\n  - code: 200\n    body: ok\n")
}

#[test]
fn web_pages_cannot_drive_the_api_without_the_cors_flag() {
    let s = Server::start_new(BIN, "no-cors");
    let get = s.api_with("GET", "/objects", &[("Origin", "http://evil.example")], "");
    assert_eq!(get.status, 200);
    assert_eq!(get.header("Access-Control-Allow-Origin"), None);

    let post = s.api_with(
        "POST",
        "/objects",
        &[("Origin", "http://evil.example")],
        &mock_pipeline("csrf"),
    );
    assert_eq!(post.status, 403, "{}", post.body);
    assert!(
        post.json()["message"]
            .as_str()
            .unwrap_or("")
            .contains("--api-cors-allowed-origins"),
        "{}",
        post.body
    );
    assert_eq!(s.api("GET", "/objects/csrf", "").status, 404);

    // The same origin as the API (a page served by the API host itself) is not cross-origin;
    // nor is a plain client that sends no Origin at all.
    let same = format!("http://{}", s.api_addr());
    let post = s.api_with(
        "POST",
        "/objects",
        &[("Origin", same.as_str())],
        &mock_pipeline("same"),
    );
    assert_eq!(post.status, 201, "{}", post.body);
    assert_eq!(
        s.api("PUT", "/objects/same", &mock_pipeline("same")).status,
        200
    );
}

#[test]
fn the_cors_flag_opens_the_api_to_the_listed_origins() {
    let mut s = Server::new(BIN, "cors");
    s.extra = vec![
        "--api-cors-allowed-origins".into(),
        "http://ui.example:8080".into(),
    ];
    s.start();
    let origin = [("Origin", "http://ui.example:8080")];
    let pre = s.api_with(
        "OPTIONS",
        "/objects",
        &[
            ("Origin", "http://ui.example:8080"),
            ("Access-Control-Request-Method", "POST"),
        ],
        "",
    );
    assert_eq!(pre.status, 200);
    assert_eq!(
        pre.header("Access-Control-Allow-Origin"),
        Some("http://ui.example:8080")
    );
    assert!(pre
        .header("Access-Control-Allow-Methods")
        .is_some_and(|m| m.contains("POST")));
    let post = s.api_with("POST", "/objects", &origin, &mock_pipeline("from-ui"));
    assert_eq!(post.status, 201, "{}", post.body);
    assert_eq!(
        post.header("Access-Control-Allow-Origin"),
        Some("http://ui.example:8080")
    );
    let other = s.api_with(
        "POST",
        "/objects",
        &[("Origin", "http://evil.example")],
        &mock_pipeline("from-evil"),
    );
    assert_eq!(other.status, 403);
    assert_eq!(other.header("Access-Control-Allow-Origin"), None);
}

#[test]
fn a_rebound_host_name_is_refused_unless_allowed() {
    let s = Server::start_new(BIN, "rebinding");
    let addr = s.api_addr();
    let get = |host: &str| {
        raw(
            &addr,
            &format!("GET /apis/v2/objects HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"),
        )
    };
    let refused = get("evil.example:2381");
    assert_eq!(status_of(&refused), 403, "{refused}");
    assert!(refused.contains("--api-allowed-hosts"), "{refused}");
    for ok in ["localhost:2381", "127.0.0.1", "[::1]:2381", "LOCALHOST"] {
        assert_eq!(status_of(&get(ok)), 200, "{ok}");
    }

    let mut s = Server::new(BIN, "rebinding-allowed");
    s.extra = vec!["--api-allowed-hosts".into(), "admin.internal".into()];
    s.start();
    let answer = raw(
        &s.api_addr(),
        "GET /apis/v2/objects HTTP/1.1\r\nHost: admin.internal:2381\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status_of(&answer), 200, "{answer}");
}

#[test]
fn an_object_over_the_size_limit_gets_413() {
    let mut s = Server::new(BIN, "big-object");
    s.extra = vec!["--api-max-object-size".into(), "2048".into()];
    s.start();
    let mut spec = mock_pipeline("big");
    spec.push_str(&format!("# {}\n", "x".repeat(4096)));
    let answer = s.api("POST", "/objects", &spec);
    assert_eq!(answer.status, 413, "{}", answer.body);
    assert!(
        answer.json()["message"]
            .as_str()
            .is_some_and(|m| m.contains("2048") && m.contains("--api-max-object-size")),
        "{}",
        answer.body
    );
    assert_eq!(
        s.api("POST", "/objects", &mock_pipeline("small")).status,
        201
    );
    // A declared length over the limit is refused before any of the body is read.
    let answer = raw(
        &s.api_addr(),
        "PUT /apis/v2/objects/small HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5000000\r\n\r\n",
    );
    assert_eq!(status_of(&answer), 413, "{answer}");
}

#[test]
fn the_basic_auth_flag_and_env_require_credentials() {
    let ok = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("admin:s3cr:et")
    );
    let bad = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("admin:wrong")
    );
    let mut s = Server::new(BIN, "auth-flag");
    s.extra = vec!["--basic-auth".into(), "admin:s3cr:et".into()];
    s.auth = Some(ok.clone());
    s.start();
    let addr = s.api_addr();
    let none = http(&addr, "GET", "/apis/v2/objects", &[], "").unwrap();
    assert_eq!(none.status, 401);
    assert!(none.header("WWW-Authenticate").is_some());
    let wrong = http(
        &addr,
        "GET",
        "/apis/v2/objects",
        &[("Authorization", &bad)],
        "",
    )
    .unwrap();
    assert_eq!(wrong.status, 401);
    assert_eq!(s.api("GET", "/objects", "").status, 200);

    let mut s = Server::new(BIN, "auth-env");
    s.env = vec![("EASEGRESS_BASIC_AUTH".into(), "admin:s3cr:et".into())];
    s.auth = Some(ok);
    s.start();
    let none = http(&s.api_addr(), "GET", "/apis/v2/objects", &[], "").unwrap();
    assert_eq!(none.status, 401);
    assert_eq!(s.api("GET", "/objects", "").status, 200);
}
