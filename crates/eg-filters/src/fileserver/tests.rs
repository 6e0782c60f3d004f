use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use http::HeaderMap;
use serde_json::{json, Value};
use tempfile::TempDir;

use super::*;
use crate::testkit::{build, ctx, filter_spec, run, supervisor};

/// A root directory `site` inside a temporary directory that also holds `secret.txt`
/// (outside the root).
struct Site {
    dir: TempDir,
}

const SECRET: &str = "TOP-SECRET-OUTSIDE-ROOT";

impl Site {
    fn new() -> Site {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("site")).unwrap();
        std::fs::write(dir.path().join("secret.txt"), SECRET).unwrap();
        Site { dir }
    }

    fn root(&self) -> PathBuf {
        self.dir.path().join("site")
    }

    fn root_str(&self) -> String {
        self.root().to_string_lossy().into_owned()
    }

    fn write(&self, rel: &str, data: impl AsRef<[u8]>) -> PathBuf {
        let p = self.root().join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&p, data).unwrap();
        p
    }

    fn filter(&self, mut fields: Value) -> Box<dyn Filter> {
        fields["root"] = Value::String(self.root_str());
        build(&KIND, fields).unwrap()
    }
}

/// What the filter answered.
#[derive(Debug)]
struct Answer {
    result: &'static str,
    status: u16,
    headers: HeaderMap,
    body: Vec<u8>,
    streamed: bool,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

async fn send(f: &dyn Filter, method: &str, path: &str, headers: &[(&str, &str)]) -> Answer {
    let mut c = ctx(method, path, headers);
    let result = run(f, &mut c).await;
    let resp = c.take_default_response().expect("a response");
    let streamed = !resp.body.is_buffered();
    let mut body = resp.body;
    let bytes = body.buffer(None).await.unwrap();
    Answer {
        result,
        status: resp.status.as_u16(),
        headers: resp.headers,
        body: bytes.to_vec(),
        streamed,
    }
}

async fn get(f: &dyn Filter, path: &str) -> Answer {
    send(f, "GET", path, &[]).await
}

fn build_err(doc: Value) -> String {
    match build(&KIND, doc) {
        Ok(_) => panic!("spec accepted"),
        Err(e) => e.to_string(),
    }
}

fn gunzip(data: &[u8]) -> Vec<u8> {
    eg_protocols::gzip::gunzip(data).unwrap().to_vec()
}

fn sha1_etag(data: &[u8]) -> String {
    let d = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, data);
    let hex: String = d.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

// ---- spec ----

#[test]
fn root_is_required_and_must_be_a_directory() {
    assert_eq!(build_err(json!({})), "filters[0].root: required");
    let site = Site::new();
    let missing = site.dir.path().join("nope");
    let e = build_err(json!({"root": missing.to_string_lossy()}));
    assert!(e.starts_with("filters[0].root: "), "{e}");
    let file = site.write("a.txt", "a");
    let e = build_err(json!({"root": file.to_string_lossy()}));
    assert!(e.contains("is not a directory"), "{e}");
}

#[test]
fn bad_fields_are_refused_with_their_path() {
    let site = Site::new();
    let root = site.root_str();
    let cases = [
        (json!({"compress": "br"}), "filters[0].compress: "),
        (
            json!({"precompressed": "gzip zstd"}),
            "filters[0].precompressed: ",
        ),
        (json!({"rewrite": "^/(a $1"}), "filters[0].rewrite: "),
        (json!({"hidden": ["ok", "[abc"]}), "filters[0].hidden[1]: "),
        (json!({"hidden": [""]}), "filters[0].hidden[0]: "),
        (
            json!({"tryFiles": ["{path}", "=abc"]}),
            "filters[0].tryFiles[1]: ",
        ),
        (json!({"tryFiles": ["=99 low"]}), "filters[0].tryFiles[0]: "),
        (json!({"tryFiles": [""]}), "filters[0].tryFiles[0]: "),
        (json!({"index": ["../up.html"]}), "filters[0].index[0]: "),
        (json!({"index": [""]}), "filters[0].index[0]: "),
        (
            json!({"cache": {"bufferPoolSize": -1}}),
            "filters[0].cache.bufferPoolSize: ",
        ),
        (
            json!({"cache": {"bufferPoolMaxFileSize": -5}}),
            "filters[0].cache.bufferPoolMaxFileSize: ",
        ),
        (
            json!({"cache": {"bufferPoolTTL": -1}}),
            "filters[0].cache.bufferPoolTTL: ",
        ),
        (
            json!({"cache": {"cacheFileExtensionFilters": [{"extension": ["[x"]}]}}),
            "filters[0].cache.cacheFileExtensionFilters[0].extension[0]: ",
        ),
        (
            json!({"cache": {"cacheFileExtensionFilters": [{"etagMaxAge": 5}]}}),
            "filters[0].cache.cacheFileExtensionFilters[0].extension: ",
        ),
        (json!({"index": "index.html"}), "filters[0].index"),
    ];
    for (mut doc, want) in cases {
        doc["root"] = root.clone().into();
        let e = build_err(doc.clone());
        assert!(e.starts_with(want), "{doc}: {e}");
    }
}

#[test]
fn unknown_fields_are_warnings() {
    let site = Site::new();
    let spec = filter_spec(&KIND, json!({"root": site.root_str(), "bogus": 1}));
    let sup = supervisor();
    let res = crate::resilience::Policies::new();
    let built = (KIND.build)(&spec, &BuildContext::new(&sup, &res)).unwrap();
    assert_eq!(built.warnings.len(), 1, "{:?}", built.warnings);
    assert!(built.warnings[0].contains("bogus"));
}

#[tokio::test]
async fn a_relative_root_is_taken_from_the_working_directory() {
    // The crate's own directory is the working directory of its tests.
    let f = build(&KIND, json!({"root": "src/fileserver"})).unwrap();
    let a = get(f.as_ref(), "/glob.rs").await;
    assert_eq!(a.status, 200);
    assert!(a.text().contains("filepath.Match"));
}

// ---- serving ----

#[tokio::test]
async fn a_file_is_served_with_its_type_length_and_validators() {
    let site = Site::new();
    let p = site.write("css/site.css", "body { color: red }");
    let f = site.filter(json!({}));
    let a = get(f.as_ref(), "/css/site.css").await;
    assert_eq!((a.status, a.result), (200, ""));
    assert_eq!(a.text(), "body { color: red }");
    assert_eq!(a.header("content-type"), Some("text/css; charset=utf-8"));
    assert_eq!(a.header("content-length"), Some("19"));
    assert_eq!(a.header("accept-ranges"), Some("bytes"));
    assert_eq!(a.header("etag").unwrap(), sha1_etag(b"body { color: red }"));
    let mtime = std::fs::metadata(&p).unwrap().modified().unwrap();
    assert_eq!(
        a.header("last-modified").unwrap(),
        httpdate::fmt_http_date(mtime)
    );
    assert_eq!(a.header("vary"), None, "no encoding choice configured");
    assert_eq!(a.header("cache-control"), None);
}

#[tokio::test]
async fn percent_encoded_names_are_decoded() {
    let site = Site::new();
    site.write("a b.txt", "spaced");
    let f = site.filter(json!({}));
    assert_eq!(get(f.as_ref(), "/a%20b.txt").await.text(), "spaced");
    assert_eq!(get(f.as_ref(), "/./a%20b.txt").await.text(), "spaced");
    assert_eq!(get(f.as_ref(), "/x/../a%20b.txt").await.text(), "spaced");
    assert_eq!(get(f.as_ref(), "/bad%zz").await.status, 400);
}

#[tokio::test]
async fn unknown_extensions_are_sniffed() {
    let site = Site::new();
    site.write("README", "plain words\n");
    site.write("blob", [0u8, 159, 146, 150, 1, 2]);
    let f = site.filter(json!({}));
    assert_eq!(
        get(f.as_ref(), "/README").await.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(
        get(f.as_ref(), "/blob").await.header("content-type"),
        Some("application/octet-stream")
    );
}

#[tokio::test]
async fn missing_files_and_directories_without_a_slash_are_404() {
    let site = Site::new();
    site.write("docs/index.html", "docs");
    let f = site.filter(json!({}));
    let a = get(f.as_ref(), "/nope.html").await;
    assert_eq!((a.status, a.result), (404, RESULT_CLIENT_ERROR));
    assert_eq!(a.text(), "file not found");
    // As Easegress: a directory is not a file (no redirect to the slashed path).
    assert_eq!(get(f.as_ref(), "/docs").await.status, 404);
    assert_eq!(get(f.as_ref(), "/docs/").await.text(), "docs");
}

#[tokio::test]
async fn index_files_answer_directory_paths_in_order() {
    let site = Site::new();
    site.write("index.txt", "root txt");
    site.write("a/index.html", "a html");
    site.write("a/index.txt", "a txt");
    site.write("b/home.htm", "b home");
    let f = site.filter(json!({}));
    assert_eq!(get(f.as_ref(), "/").await.text(), "root txt");
    assert_eq!(get(f.as_ref(), "/a/").await.text(), "a html");
    assert_eq!(get(f.as_ref(), "/b/").await.status, 404);
    let f = site.filter(json!({"index": ["home.htm", "index.txt"]}));
    assert_eq!(get(f.as_ref(), "/b/").await.text(), "b home");
    assert_eq!(get(f.as_ref(), "/a/").await.text(), "a txt");
    let a = get(f.as_ref(), "/b/").await;
    assert_eq!(a.header("content-type"), Some("text/html; charset=utf-8"));
}

// ---- escaping the root ----

#[tokio::test]
async fn traversal_attempts_are_refused_and_read_nothing_outside() {
    let site = Site::new();
    site.write("index.html", "home");
    site.write("sub/a.txt", "a");
    let f = site.filter(json!({"tryFiles": ["{path}", "/index.html"]}));
    let attempts = [
        "/../secret.txt",
        "/sub/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E/secret.txt",
        "/.%2e/secret.txt",
        "/%2e%2e%2fsecret.txt",
        "/sub/%2e%2e%2f%2e%2e%2fsecret.txt",
        "/..%2Fsecret.txt",
        "/a%00b",
    ];
    for path in attempts {
        let a = get(f.as_ref(), path).await;
        assert_eq!((a.status, a.result), (400, RESULT_CLIENT_ERROR), "{path}");
        assert!(!a.text().contains(SECRET), "{path}");
    }
    // A doubled slash is not an absolute path on the host: it stays under the root.
    let a = get(f.as_ref(), "//etc/passwd").await;
    assert_eq!(a.text(), "home", "tryFiles fallback, nothing from /etc");
    let f = site.filter(json!({}));
    assert_eq!(get(f.as_ref(), "//etc/passwd").await.status, 404);
    assert_eq!(get(f.as_ref(), "/%2fetc%2fpasswd").await.status, 404);
}

#[cfg(unix)]
#[tokio::test]
async fn symbolic_links_are_followed_only_inside_the_root() {
    let site = Site::new();
    site.write("real/inside.txt", "inside");
    std::os::unix::fs::symlink(site.dir.path().join("secret.txt"), site.root().join("out"))
        .unwrap();
    std::os::unix::fs::symlink(site.dir.path(), site.root().join("updir")).unwrap();
    std::os::unix::fs::symlink(site.root().join("real/inside.txt"), site.root().join("in"))
        .unwrap();
    let f = site.filter(json!({}));
    for path in ["/out", "/updir/secret.txt"] {
        let a = get(f.as_ref(), path).await;
        assert_eq!(a.status, 400, "{path}");
        assert!(!a.text().contains(SECRET));
    }
    assert_eq!(get(f.as_ref(), "/in").await.text(), "inside");
}

#[cfg(unix)]
#[tokio::test]
async fn a_root_reached_through_a_symbolic_link_serves_its_files() {
    let site = Site::new();
    site.write("a.txt", "via link");
    let link = site.dir.path().join("link");
    std::os::unix::fs::symlink(site.root(), &link).unwrap();
    let f = build(&KIND, json!({"root": link.to_string_lossy()})).unwrap();
    assert_eq!(get(f.as_ref(), "/a.txt").await.text(), "via link");
}

// ---- hidden ----

#[tokio::test]
async fn hidden_components_and_paths_answer_403() {
    let site = Site::new();
    site.write(".git/config", "git");
    site.write("app/.env", "env");
    site.write("logs/x.log", "log");
    site.write("private/a.txt", "private");
    site.write("privateer.txt", "ok");
    site.write("x.conf", "conf");
    site.write("d/x.conf", "deeper conf");
    site.write("git", "not hidden");
    let root = site.root_str();
    let f = site.filter(json!({"hidden": [
        ".git", ".env", "*.log",
        format!("{root}/private"),
        format!("{root}/*.conf"),
    ]}));
    for path in [
        "/.git/config",
        "/app/.env",
        "/logs/x.log",
        "/private/a.txt",
        "/x.conf",
    ] {
        let a = get(f.as_ref(), path).await;
        assert_eq!((a.status, a.result), (403, RESULT_CLIENT_ERROR), "{path}");
        assert_eq!(a.text(), "access denied");
    }
    assert_eq!(get(f.as_ref(), "/privateer.txt").await.text(), "ok");
    assert_eq!(get(f.as_ref(), "/d/x.conf").await.text(), "deeper conf");
    assert_eq!(get(f.as_ref(), "/git").await.text(), "not hidden");
}

// ---- tryFiles and rewrite ----

#[tokio::test]
async fn try_files_fall_back_in_order() {
    let site = Site::new();
    site.write("index.html", "spa");
    site.write("app.js", "js");
    site.write("docs/index.html", "docs");
    let f = site.filter(json!({"tryFiles": ["{path}", "{path}/", "/index.html"]}));
    assert_eq!(get(f.as_ref(), "/app.js").await.text(), "js");
    assert_eq!(get(f.as_ref(), "/docs").await.text(), "docs");
    let a = get(f.as_ref(), "/some/client/route").await;
    assert_eq!((a.status, a.text().as_str()), (200, "spa"));
    assert_eq!(a.header("content-type"), Some("text/html; charset=utf-8"));
}

#[tokio::test]
async fn try_files_end_with_a_status_or_404() {
    let site = Site::new();
    site.write("a.txt", "a");
    let f = site.filter(json!({"tryFiles": ["{path}", "=418 no tea here"]}));
    assert_eq!(get(f.as_ref(), "/a.txt").await.text(), "a");
    let a = get(f.as_ref(), "/b.txt").await;
    assert_eq!((a.status, a.result), (418, RESULT_CLIENT_ERROR));
    assert_eq!(a.text(), "no tea here");
    let f = site.filter(json!({"tryFiles": ["{path}.txt", "=404"]}));
    assert_eq!(get(f.as_ref(), "/a").await.text(), "a");
    let a = get(f.as_ref(), "/zzz").await;
    assert_eq!((a.status, a.text().as_str()), (404, "404"));
    let f = site.filter(json!({"tryFiles": ["/nothing"]}));
    let a = get(f.as_ref(), "/a.txt").await;
    assert_eq!((a.status, a.text().as_str()), (404, "file not found"));
}

#[tokio::test]
async fn rewrite_changes_the_path_looked_up() {
    let site = Site::new();
    site.write("users/7.json", "{\"id\":7}");
    site.write("other.txt", "other");
    let f = site.filter(json!({"rewrite": "^/u/(\\d+)$ /users/$1.json?from=rewrite"}));
    let a = get(f.as_ref(), "/u/7").await;
    assert_eq!(a.text(), "{\"id\":7}");
    assert_eq!(a.header("content-type"), Some("application/json"));
    assert_eq!(get(f.as_ref(), "/other.txt").await.text(), "other");
    assert_eq!(get(f.as_ref(), "/u/8").await.status, 404);
    // A rewrite cannot lead out of the root either.
    let f = site.filter(json!({"rewrite": "^/steal$ /../secret.txt"}));
    let a = get(f.as_ref(), "/steal").await;
    assert_eq!(a.status, 400);
    assert!(!a.text().contains(SECRET));
    // tryFiles see the rewritten path.
    let f = site.filter(json!({"rewrite": "^/o$ /other", "tryFiles": ["{path}.txt"]}));
    assert_eq!(get(f.as_ref(), "/o").await.text(), "other");
}

// ---- HTTP ----

#[tokio::test]
async fn conditional_requests_answer_304() {
    let site = Site::new();
    site.write("a.txt", "hello");
    let f = site.filter(json!({}));
    let first = get(f.as_ref(), "/a.txt").await;
    let etag = first.header("etag").unwrap().to_string();
    let lm = first.header("last-modified").unwrap().to_string();
    for (name, value) in [
        ("if-none-match", etag.as_str()),
        ("if-none-match", "*"),
        ("if-none-match", &format!("\"x\", W/{etag}")),
        ("if-modified-since", lm.as_str()),
        ("if-modified-since", "Fri, 01 Jan 2100 00:00:00 GMT"),
    ] {
        let a = send(f.as_ref(), "GET", "/a.txt", &[(name, value)]).await;
        assert_eq!((a.status, a.result), (304, ""), "{name}: {value}");
        assert!(a.body.is_empty());
        assert_eq!(a.header("etag"), Some(etag.as_str()));
        assert_eq!(a.header("content-type"), None);
    }
    for headers in [
        vec![("if-none-match", "\"other\"")],
        vec![("if-modified-since", "Thu, 01 Jan 1970 00:00:00 GMT")],
        vec![("if-modified-since", "not a date")],
        // If-None-Match decides when both are there.
        vec![
            ("if-none-match", "\"other\""),
            ("if-modified-since", lm.as_str()),
        ],
    ] {
        let a = send(f.as_ref(), "GET", "/a.txt", &headers).await;
        assert_eq!((a.status, a.text().as_str()), (200, "hello"), "{headers:?}");
    }
}

#[tokio::test]
async fn single_ranges_answer_206_and_bad_ones_416() {
    let site = Site::new();
    site.write("digits.txt", "0123456789");
    let f = site.filter(json!({}));
    let a = send(f.as_ref(), "GET", "/digits.txt", &[("range", "bytes=2-5")]).await;
    assert_eq!((a.status, a.text().as_str()), (206, "2345"));
    assert_eq!(a.header("content-range"), Some("bytes 2-5/10"));
    assert_eq!(a.header("content-length"), Some("4"));
    let a = send(f.as_ref(), "GET", "/digits.txt", &[("range", "bytes=-3")]).await;
    assert_eq!((a.status, a.text().as_str()), (206, "789"));
    let a = send(f.as_ref(), "GET", "/digits.txt", &[("range", "bytes=10-")]).await;
    assert_eq!((a.status, a.result), (416, ""));
    assert_eq!(a.header("content-range"), Some("bytes */10"));
    // Several ranges: the whole file.
    let a = send(
        f.as_ref(),
        "GET",
        "/digits.txt",
        &[("range", "bytes=0-1,4-5")],
    )
    .await;
    assert_eq!((a.status, a.text().as_str()), (200, "0123456789"));
    // If-Range with another validator: the whole file; with the current one: the part.
    let etag = a.header("etag").unwrap().to_string();
    let stale = [("range", "bytes=0-1"), ("if-range", "\"stale\"")];
    assert_eq!(
        send(f.as_ref(), "GET", "/digits.txt", &stale).await.status,
        200
    );
    let current = [("range", "bytes=0-1"), ("if-range", etag.as_str())];
    let a = send(f.as_ref(), "GET", "/digits.txt", &current).await;
    assert_eq!((a.status, a.text().as_str()), (206, "01"));
}

#[tokio::test]
async fn large_files_stream_from_disk_with_ranges() {
    let site = Site::new();
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let p = site.write("big.bin", &data);
    let f = site.filter(json!({"cache": {"bufferPoolMaxFileSize": 65536}}));
    let a = get(f.as_ref(), "/big.bin").await;
    assert_eq!(a.status, 200);
    assert!(a.streamed, "a file above bufferPoolMaxFileSize is streamed");
    assert_eq!(a.body, data);
    assert_eq!(a.header("content-length"), Some("300000"));
    let mtime = std::fs::metadata(&p).unwrap().modified().unwrap();
    let secs = mtime
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert_eq!(
        a.header("etag").unwrap(),
        format!("\"{secs:x}-{:x}\"", 300_000)
    );
    let a = send(
        f.as_ref(),
        "GET",
        "/big.bin",
        &[("range", "bytes=200000-200009")],
    )
    .await;
    assert_eq!(a.status, 206);
    assert_eq!(a.body, &data[200_000..200_010]);
    assert_eq!(
        a.header("content-range"),
        Some("bytes 200000-200009/300000")
    );
    let a = send(f.as_ref(), "GET", "/big.bin", &[("range", "bytes=299990-")]).await;
    assert_eq!(a.body, &data[299_990..]);
    let etag = a.header("etag").unwrap().to_string();
    let a = send(f.as_ref(), "GET", "/big.bin", &[("if-none-match", &etag)]).await;
    assert_eq!(a.status, 304);
    let status = f.status();
    assert_eq!(status["bufferPool"]["files"], 0, "{status}");
}

#[tokio::test]
async fn head_sends_the_headers_of_get_without_a_body() {
    let site = Site::new();
    site.write("a.html", "<p>hello</p>");
    let data = vec![b'x'; 100_000];
    site.write("big.txt", &data);
    let f = site.filter(json!({"cache": {"bufferPoolMaxFileSize": 1000}}));
    let a = send(f.as_ref(), "HEAD", "/a.html", &[]).await;
    assert_eq!((a.status, a.result), (200, ""));
    assert!(a.body.is_empty());
    assert_eq!(a.header("content-length"), Some("12"));
    assert_eq!(a.header("content-type"), Some("text/html; charset=utf-8"));
    let a = send(f.as_ref(), "HEAD", "/big.txt", &[]).await;
    assert!(a.body.is_empty() && !a.streamed);
    assert_eq!(a.header("content-length"), Some("100000"));
    let a = send(f.as_ref(), "HEAD", "/big.txt", &[("range", "bytes=0-9")]).await;
    assert_eq!((a.status, a.header("content-length")), (206, Some("10")));
}

#[tokio::test]
async fn other_methods_answer_405_with_allow() {
    let site = Site::new();
    site.write("a.txt", "a");
    let f = site.filter(json!({}));
    for m in ["POST", "PUT", "DELETE", "OPTIONS", "PATCH"] {
        let a = send(f.as_ref(), m, "/a.txt", &[]).await;
        assert_eq!((a.status, a.result), (405, RESULT_CLIENT_ERROR), "{m}");
        assert_eq!(a.header("allow"), Some("GET, HEAD"));
    }
}

// ---- encodings ----

#[tokio::test]
async fn precompressed_siblings_go_to_clients_that_accept_them() {
    let site = Site::new();
    site.write("app.js", "plain js");
    site.write("app.js.gz", "GZ BYTES");
    site.write("app.js.br", "BR BYTES");
    site.write("only.css", "css");
    site.write("only.css.gz", "CSS GZ");
    let f = site.filter(json!({
        "precompressed": "br gzip",
        "cache": {"cacheFileExtensionFilters": [{"extension": ["*.css"]}]},
    }));
    let cases = [
        ("gzip", "GZ BYTES", Some("gzip")),
        ("gzip, deflate, br", "BR BYTES", Some("br")),
        ("br;q=0, gzip", "GZ BYTES", Some("gzip")),
        ("*", "BR BYTES", Some("br")),
        ("br;q=0, *", "GZ BYTES", Some("gzip")),
        ("GZIP;q=0.5", "GZ BYTES", Some("gzip")),
        ("br;q=0, gzip;q=0.0, *", "plain js", None),
        ("identity", "plain js", None),
        ("", "plain js", None),
    ];
    for (ae, body, enc) in cases {
        let a = send(f.as_ref(), "GET", "/app.js", &[("accept-encoding", ae)]).await;
        assert_eq!(a.text(), body, "{ae}");
        assert_eq!(a.header("content-encoding"), enc, "{ae}");
        assert_eq!(a.header("vary"), Some("Accept-Encoding"));
        assert_eq!(
            a.header("content-type"),
            Some("text/javascript; charset=utf-8")
        );
    }
    let a = send(
        f.as_ref(),
        "GET",
        "/only.css",
        &[("accept-encoding", "br, gzip")],
    )
    .await;
    assert_eq!(a.text(), "CSS GZ");
    assert_eq!(a.header("cache-control"), Some("public, max-age=3600"));
    // A sibling's own name is still a file that can be asked for.
    let a = get(f.as_ref(), "/app.js.gz").await;
    assert_eq!(
        (a.text().as_str(), a.header("content-encoding")),
        ("GZ BYTES", None)
    );
}

#[tokio::test]
async fn compressible_files_are_gzipped_on_the_fly() {
    let site = Site::new();
    let text = "line of compressible text\n".repeat(100);
    site.write("page.html", &text);
    site.write("tiny.txt", "tiny");
    site.write("img.png", vec![7u8; 5000]);
    site.write("big.txt", text.repeat(50));
    let f = site.filter(json!({"compress": "gzip", "cache": {"bufferPoolMaxFileSize": 10000}}));
    let gz = [("accept-encoding", "gzip, br")];
    let a = send(f.as_ref(), "GET", "/page.html", &gz).await;
    assert_eq!(a.header("content-encoding"), Some("gzip"));
    assert_eq!(a.header("vary"), Some("Accept-Encoding"));
    assert_eq!(gunzip(&a.body), text.as_bytes());
    assert_eq!(
        a.header("content-length"),
        Some(a.body.len().to_string().as_str())
    );
    let weak = a.header("etag").unwrap().to_string();
    assert_eq!(weak, format!("W/{}", sha1_etag(text.as_bytes())));
    let again = [
        ("accept-encoding", "gzip"),
        ("if-none-match", weak.as_str()),
    ];
    assert_eq!(
        send(f.as_ref(), "GET", "/page.html", &again).await.status,
        304
    );
    // No gzip for clients that do not ask, tiny files, images, or ranges.
    let a = get(f.as_ref(), "/page.html").await;
    assert_eq!(
        (a.header("content-encoding"), a.text()),
        (None, text.clone())
    );
    for path in ["/tiny.txt", "/img.png"] {
        let a = send(f.as_ref(), "GET", path, &gz).await;
        assert_eq!(a.header("content-encoding"), None, "{path}");
    }
    let ranged = [("accept-encoding", "gzip"), ("range", "bytes=0-3")];
    let a = send(f.as_ref(), "GET", "/page.html", &ranged).await;
    assert_eq!((a.status, a.text().as_str()), (206, "line"));
    // A streamed file is gzipped as it streams (no length known up front).
    let a = send(f.as_ref(), "GET", "/big.txt", &gz).await;
    assert!(a.streamed);
    assert_eq!(a.header("content-length"), None);
    assert_eq!(gunzip(&a.body), text.repeat(50).as_bytes());
}

// ---- cache ----

fn touch(path: &Path, when: SystemTime) {
    let f = std::fs::File::options().write(true).open(path).unwrap();
    f.set_modified(when).unwrap();
}

#[tokio::test]
async fn a_changed_file_is_read_again() {
    let site = Site::new();
    let p = site.write("a.txt", "first");
    let f = site.filter(json!({}));
    assert_eq!(get(f.as_ref(), "/a.txt").await.text(), "first");
    assert_eq!(get(f.as_ref(), "/a.txt").await.text(), "first");
    assert_eq!(f.status()["bufferPool"]["hits"], 1);
    // Another size.
    std::fs::write(&p, "second!").unwrap();
    assert_eq!(get(f.as_ref(), "/a.txt").await.text(), "second!");
    // Same size, another modification time.
    std::fs::write(&p, "third!!").unwrap();
    touch(&p, SystemTime::now() + Duration::from_secs(5));
    let a = get(f.as_ref(), "/a.txt").await;
    assert_eq!(a.text(), "third!!");
    assert_eq!(a.header("etag").unwrap(), sha1_etag(b"third!!"));
    let status = f.status();
    assert_eq!(status["bufferPool"]["files"], 1, "{status}");
    assert_eq!(status["bufferPool"]["bytes"], 7, "{status}");
}

#[tokio::test]
async fn the_pool_keeps_to_its_size_least_recently_used_out_first() {
    let site = Site::new();
    site.write("a.txt", "aaaa");
    site.write("b.txt", "bbbb");
    site.write("c.txt", "cccc");
    site.write("huge.txt", "h".repeat(20));
    let f = site.filter(json!({"cache": {"bufferPoolSize": 8, "bufferPoolMaxFileSize": 100}}));
    get(f.as_ref(), "/a.txt").await;
    get(f.as_ref(), "/b.txt").await;
    get(f.as_ref(), "/a.txt").await; // a is now the most recently used
    get(f.as_ref(), "/c.txt").await; // evicts b
    let s = f.status();
    assert_eq!(
        (
            s["bufferPool"]["files"].clone(),
            s["bufferPool"]["bytes"].clone()
        ),
        (json!(2), json!(8))
    );
    assert_eq!(s["bufferPool"]["evictions"], 1);
    let hits = s["bufferPool"]["hits"].as_u64().unwrap();
    get(f.as_ref(), "/a.txt").await;
    assert_eq!(f.status()["bufferPool"]["hits"], hits + 1, "a stayed");
    get(f.as_ref(), "/b.txt").await;
    assert_eq!(f.status()["bufferPool"]["hits"], hits + 1, "b was evicted");
    // Larger than the whole pool: served, not kept.
    assert_eq!(get(f.as_ref(), "/huge.txt").await.body.len(), 20);
    assert!(f.status()["bufferPool"]["bytes"].as_u64().unwrap() <= 8);
}

#[test]
fn pool_entries_expire_after_their_ttl() {
    let site = Site::new();
    let p = site.write("a.txt", "a");
    let meta = std::fs::metadata(&p).unwrap();
    let pool = BufferPool::new(100, Duration::ZERO);
    pool.insert(
        &p,
        &meta,
        cache::Cached::new(bytes::Bytes::from_static(b"a")),
    );
    assert!(pool.get(&p, &meta).is_none());
    let pool = BufferPool::new(100, Duration::from_secs(600));
    pool.insert(
        &p,
        &meta,
        cache::Cached::new(bytes::Bytes::from_static(b"a")),
    );
    assert!(pool.get(&p, &meta).is_some());
}

#[tokio::test]
async fn cache_control_follows_the_extension_filters() {
    let site = Site::new();
    site.write("a.css", "css");
    site.write("static/app.js", "js");
    site.write("other.js", "js");
    let root = site.root_str();
    let f = site.filter(json!({"cache": {"cacheFileExtensionFilters": [
        {"extension": ["*.css", "*.html"], "etagMaxAge": 60},
        {"pattern": [format!("{root}/static/*.js")]},
    ]}}));
    let a = get(f.as_ref(), "/a.css").await;
    assert_eq!(a.header("cache-control"), Some("public, max-age=60"));
    let a = get(f.as_ref(), "/static/app.js").await;
    assert_eq!(a.header("cache-control"), Some("public, max-age=3600"));
    assert_eq!(
        get(f.as_ref(), "/other.js").await.header("cache-control"),
        None
    );
}

#[tokio::test]
async fn a_file_that_disappears_after_lookup_is_a_404() {
    let site = Site::new();
    let p = site.write("a.txt", "a");
    let f = site.filter(json!({}));
    let found = resolve::resolve(&FileServer::cfg_of(f.as_ref()), "/a.txt", &[]).unwrap();
    std::fs::remove_file(&p).unwrap();
    let pool = BufferPool::new(100, Duration::from_secs(1));
    let r = serve::serve(
        &FileServer::cfg_of(f.as_ref()),
        &pool,
        &found,
        &Conditions::default(),
    );
    let (resp, result) = refusal(Refusal::Io(r.err().unwrap()));
    assert_eq!((resp.status.as_u16(), result), (404, RESULT_NOT_FOUND));
}

#[test]
fn cache_sizes_default_as_in_easegress_and_are_passed_on() {
    let site = Site::new();
    let f = site.filter(json!({}));
    let cfg = FileServer::cfg_of(f.as_ref());
    assert_eq!(cfg.pool_size, 2 * 1024 * 1024 * 1024);
    assert_eq!(cfg.max_file_size, 10 * 1024 * 1024);
    assert_eq!(cfg.ttl, Duration::from_secs(600));
    assert_eq!(cfg.index, ["index.html", "index.txt"]);
    let f = site.filter(json!({"cache": {
        "bufferPoolSize": 0, "bufferPoolMaxFileSize": 0, "bufferPoolTTL": 7,
    }}));
    let cfg = FileServer::cfg_of(f.as_ref());
    assert_eq!((cfg.pool_size, cfg.max_file_size), (2 << 30, 10 << 20));
    assert_eq!(cfg.ttl, Duration::from_secs(7));
}

#[cfg(target_os = "linux")]
#[test]
fn a_link_swapped_in_after_the_lookup_is_not_opened() {
    let site = Site::new();
    let f = site.filter(json!({}));
    let cfg = FileServer::cfg_of(f.as_ref());
    // As if `a.txt` was checked, then replaced by a link to a file outside the root.
    let swapped = site.root().join("a.txt");
    std::os::unix::fs::symlink(site.dir.path().join("secret.txt"), &swapped).unwrap();
    let found = resolve::Found {
        meta: std::fs::metadata(&swapped).unwrap(),
        path: swapped.clone(),
        asked: swapped,
        encoding: None,
        max_age: None,
    };
    let pool = BufferPool::new(1 << 20, Duration::from_secs(60));
    for max_file_size in [0, 1 << 20] {
        let cfg = Config {
            max_file_size,
            ..Config::compile(
                &FileServerSpec {
                    root: cfg.root.to_string_lossy().into_owned(),
                    ..FileServerSpec::default()
                },
                "filters[0]",
            )
            .unwrap()
        };
        let err = serve::serve(&cfg, &pool, &found, &Conditions::default())
            .err()
            .expect("refused");
        assert_eq!(err.kind(), std::io::ErrorKind::PermissionDenied);
    }
}

#[tokio::test]
async fn the_pool_counts_in_easegress_prometheus_series() {
    let site = Site::new();
    let p = site.write("a.txt", "aaaa");
    site.write("b.txt", "bbbbbb");
    let sup = supervisor();
    let res = crate::resilience::Policies::new();
    let spec = filter_spec(
        &KIND,
        json!({"root": site.root_str(), "cache": {"bufferPoolSize": 8}}),
    );
    let f = (KIND.build)(&spec, &BuildContext::new(&sup, &res))
        .unwrap()
        .filter;
    get(f.as_ref(), "/a.txt").await; // miss
    get(f.as_ref(), "/a.txt").await; // hit
    std::fs::write(&p, "changed").unwrap();
    get(f.as_ref(), "/a.txt").await; // changed: evicted, miss
    get(f.as_ref(), "/b.txt").await; // miss, evicts a for room
    let text = sup.metrics().encode();
    for line in [
        "fileserver_buffer_pool_hits_total 1",
        "fileserver_buffer_pool_miss_total 3",
        "fileserver_buffer_pool_evicts_total 2",
        "fileserver_buffer_pool_ttl_evicts_total 0",
        "fileserver_buffer_pool_size 6",
        "fileserver_buffer_pool_files 1",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
    }
}
