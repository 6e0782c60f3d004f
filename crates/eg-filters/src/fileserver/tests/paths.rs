//! From request paths to files: serving, index, the root's boundary, hidden, tryFiles, rewrite.

use super::*;

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
    let f = site.filter(json!({"tryFiles": ["{path}", "=204 ignored"]}));
    let a = get(f.as_ref(), "/zzz").await;
    assert_eq!((a.status, a.body.len()), (204, 0));
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
