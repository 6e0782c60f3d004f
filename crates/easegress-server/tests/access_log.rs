//! The access log of the real server: JSON lines, rotation by `--access-log-max-size`,
//! and the SIGHUP reopen.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use eg_testkit::{eventually, free_port, http, Server};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_easegress-server");
/// The access-log file name.
const FILE: &str = "filter_http_access.log";
/// Upper bound of the waits for the flusher (it writes every second).
const WAIT: Duration = Duration::from_secs(30);
/// A query long enough that each line is about 600 bytes (the URI is cut at 512).
const PAD: usize = 600;
/// Requests sent on one connection per batch.
const BATCH: usize = 200;

/// Sends `n` requests on one kept-alive connection, reading each answer.
fn send_batch(addr: &str, n: usize, tag: &str) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(WAIT)).expect("timeout");
    let pad = "q".repeat(PAD);
    let mut answer = [0u8; 4096];
    for i in 0..n {
        let req = format!("GET /{tag}/{i}?{pad} HTTP/1.1\r\nHost: gw\r\nUser-Agent: t\r\n\r\n");
        s.write_all(req.as_bytes()).expect("send");
        // The Mock answers `ok` with a Content-Length: the answer ends with its body.
        let mut got = Vec::new();
        while !got.ends_with(b"\r\n\r\nok") {
            let k = s.read(&mut answer).expect("read");
            assert!(k > 0, "connection closed");
            got.extend_from_slice(&answer[..k]);
        }
    }
}

fn lines_of(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

fn backup(dir: &Path, n: u32) -> PathBuf {
    dir.join(format!("{FILE}.{n}"))
}

#[test]
fn json_lines_are_rotated_by_size_and_reopened_on_sighup() {
    let mut s = Server::new(BIN, "access-log");
    s.extra = [
        "--access-log-max-size",
        "1",
        "--access-log-max-backups",
        "2",
    ]
    .map(String::from)
    .to_vec();
    s.start();
    let pipeline = "name: pl\nkind: Pipeline\nfilters:\n- name: mock\n  kind: Mock\n  rules:\n  - code: 200\n    body: ok\n";
    assert_eq!(s.api("POST", "/objects", pipeline).status, 201);
    let port = free_port();
    let server = format!(
        "name: hs\nkind: HTTPServer\nport: {port}\naddress: 127.0.0.1\naccessLogFormat: json\nrules:\n- paths:\n  - pathPrefix: /\n    backend: pl\n"
    );
    assert_eq!(s.api("POST", "/objects", &server).status, 201);
    let gw = format!("127.0.0.1:{port}");
    eventually(WAIT, || {
        http(&gw, "GET", "/ready", &[], "")
            .ok()
            .filter(|a| a.status == 200)
    });
    let dir = s.path("log");
    let file = dir.join(FILE);

    // About 1.2 MiB of lines: the flusher rotates once they pass 1 MiB.
    let mut sent = 0;
    while sent < 2000 {
        send_batch(&gw, BATCH, &format!("a/{sent}"));
        sent += BATCH;
    }
    eventually(WAIT, || backup(&dir, 1).exists().then_some(()));
    let rotated = lines_of(&backup(&dir, 1));
    assert!(!rotated.is_empty());
    for l in &rotated {
        let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
        assert_eq!(v["statusCode"], 200, "{l}");
        if v["uri"].as_str().is_some_and(|u| u.starts_with("/a/")) {
            assert_eq!(v["userAgent"], "t", "{l}");
            // The header dumps of the JSON format.
            assert_eq!(
                v["reqHeaders"]["user-agent"],
                serde_json::json!(["t"]),
                "{l}"
            );
            assert!(v["respHeaders"].is_object(), "{l}");
        }
    }
    assert!(!backup(&dir, 3).exists());

    // Every request of the batch is in the rotated file or the current one, once.
    eventually(WAIT, || {
        let total = lines_of(&backup(&dir, 1)).len()
            + lines_of(&backup(&dir, 2)).len()
            + lines_of(&file).len();
        (total > sent).then_some(())
    });
    let mut uris: Vec<String> = [backup(&dir, 2), backup(&dir, 1), file.clone()]
        .iter()
        .flat_map(|p| lines_of(p))
        .filter_map(|l| {
            let v: Value = serde_json::from_str(&l).ok()?;
            let uri = v["uri"].as_str()?.to_string();
            uri.starts_with("/a/").then_some(uri)
        })
        .collect();
    let count = uris.len();
    uris.sort();
    uris.dedup();
    assert_eq!(count, sent, "every line of /a/ once");
    assert_eq!(uris.len(), sent);

    // SIGHUP still reopens: a file moved away stops receiving lines.
    let moved = dir.join("moved.log");
    std::fs::rename(&file, &moved).expect("move the log");
    s.signal("HUP");
    eventually(WAIT, || {
        send_batch(&gw, 1, "after");
        lines_of(&file)
            .iter()
            .any(|l| l.contains("\"/after/0?"))
            .then_some(())
    });
    let stop = s.stop();
    assert_eq!(stop, Some(0));
}
