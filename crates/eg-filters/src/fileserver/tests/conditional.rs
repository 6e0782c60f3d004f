//! HTTP semantics: validators and 304s, ranges, HEAD, methods.

use super::*;

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
