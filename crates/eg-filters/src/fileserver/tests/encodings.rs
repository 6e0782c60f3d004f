//! Precompressed siblings and on-the-fly gzip.

use super::*;

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
