//! The FileServer filter behind a real HTTPServer: what reaches the wire (framing of streamed
//! and HEAD answers, 304s, ranges), traversal attempts written raw on the socket, and an
//! edited file seen on the next request.

use std::time::Duration;

use eg_testkit::{eventually, free_port, http, raw, Server};

const BIN: &str = env!("CARGO_BIN_EXE_easegress-server");
const SECRET: &str = "SECRET-OUTSIDE-THE-ROOT";

#[test]
fn a_file_server_behind_an_http_server() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().join("site");
    std::fs::create_dir_all(root.join("docs")).expect("site dir");
    std::fs::write(dir.path().join("secret.txt"), SECRET).expect("secret");
    std::fs::write(root.join("docs/index.html"), "<h1>docs</h1>").expect("index");
    std::fs::write(root.join("a.txt"), "first version").expect("a.txt");
    let big: String = (0..200_000)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    std::fs::write(root.join("big.txt"), &big).expect("big.txt");

    let s = Server::start_new(BIN, "file-server");
    // A spec naming no directory is refused, naming the field.
    let missing = format!(
        "name: files\nkind: Pipeline\nfilters:\n- name: fs\n  kind: FileServer\n  root: {}\n",
        dir.path().join("no-such-dir").display()
    );
    let refused = s.api("POST", "/objects", &missing);
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(refused.body.contains("filters[0].root"), "{}", refused.body);
    let pipeline = format!(
        "name: files\nkind: Pipeline\nfilters:\n- name: fs\n  kind: FileServer\n  root: {}\n  \
         cache:\n    bufferPoolMaxFileSize: 65536\n",
        root.display()
    );
    let created = s.api("POST", "/objects", &pipeline);
    assert_eq!(created.status, 201, "{}", created.body);
    let port = free_port();
    let gw = format!(
        "name: gw\nkind: HTTPServer\nport: {port}\naddress: 127.0.0.1\nrules:\n- paths:\n  - pathPrefix: /\n    backend: files\n"
    );
    assert_eq!(s.api("POST", "/objects", &gw).status, 201);
    let addr = format!("127.0.0.1:{port}");
    let get = |path: &str, headers: &[(&str, &str)]| {
        http(&addr, "GET", path, headers, "").expect("an answer")
    };

    let first = eventually(Duration::from_secs(10), || {
        http(&addr, "GET", "/a.txt", &[], "")
            .ok()
            .filter(|a| a.status == 200)
    });
    assert_eq!(first.body, "first version");
    assert_eq!(
        first.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(first.header("content-length"), Some("13"));

    // A streamed file goes out with its length, not chunked.
    let a = get("/big.txt", &[]);
    assert_eq!((a.status, a.body.len()), (200, 200_000));
    assert_eq!(a.body, big);
    assert_eq!(a.header("content-length"), Some("200000"));
    assert_eq!(a.header("transfer-encoding"), None);

    // HEAD: the GET's length, no body.
    let a = http(&addr, "HEAD", "/big.txt", &[], "").expect("an answer");
    assert_eq!(
        (a.status, a.header("content-length")),
        (200, Some("200000"))
    );
    assert!(a.body.is_empty());

    let a = get("/big.txt", &[("Range", "bytes=100000-100009")]);
    assert_eq!(a.status, 206);
    assert_eq!(a.body, &big[100_000..100_010]);
    let a = get("/big.txt", &[("Range", "bytes=300000-")]);
    assert_eq!(
        (a.status, a.header("content-range")),
        (416, Some("bytes */200000"))
    );

    let etag = first.header("etag").expect("an etag").to_string();
    let a = get("/a.txt", &[("If-None-Match", &etag)]);
    assert_eq!((a.status, a.body.as_str()), (304, ""));

    assert_eq!(get("/docs/", &[]).body, "<h1>docs</h1>");
    let a = http(&addr, "POST", "/a.txt", &[], "x").expect("an answer");
    assert_eq!((a.status, a.header("allow")), (405, Some("GET, HEAD")));

    for target in [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/docs/..%2f..%2fsecret.txt",
    ] {
        let answer = raw(
            &addr,
            &format!("GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
        );
        assert!(answer.starts_with("HTTP/1.1 400"), "{target}: {answer}");
        assert!(!answer.contains(SECRET), "{target}");
    }

    // An edit is served on the next request.
    std::fs::write(root.join("a.txt"), "second, longer version").expect("edit");
    assert_eq!(get("/a.txt", &[]).body, "second, longer version");
}
