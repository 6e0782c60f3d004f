//! Message framing: what is forwarded says the length of the body that is actually sent,
//! and informational answers to requests that did not ask for them are refused.

use super::*;

/// `Content-Length: 1` and a chunked body of five bytes: the chunked framing is the real one.
const TE_AND_CL: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\
    Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";

fn lengths(h: &HeaderMap) -> Vec<String> {
    h.get_all("content-length")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_buffered_chunked_answer_gets_its_real_length() {
    let up = RawUpstream::start(TE_AND_CL).await;
    let p = simple(&[up.url()], json!({}));
    let mut c = ctx("GET", "/", &[]);
    assert_eq!(run(&p, &mut c).await, "");
    let r = response(&c);
    assert_eq!(r.status, 200);
    assert_eq!(lengths(&r.headers), ["5"]);
    assert!(!r.headers.contains_key("transfer-encoding"));
    assert_eq!(body_text(&mut c).await, "hello");
}

#[tokio::test]
async fn a_streamed_chunked_answer_has_no_length() {
    let up = RawUpstream::start(TE_AND_CL).await;
    let p = simple(&[up.url()], json!({"serverMaxBodySize": -1}));
    let mut c = ctx("GET", "/", &[]);
    assert_eq!(run(&p, &mut c).await, "");
    let r = response(&c);
    assert!(lengths(&r.headers).is_empty(), "{:?}", r.headers);
    assert!(!r.headers.contains_key("transfer-encoding"));
    assert_eq!(body_text(&mut c).await, "hello");
}

#[tokio::test]
async fn a_gzipped_chunked_answer_has_no_stale_length() {
    let up = RawUpstream::start(TE_AND_CL).await;
    let p = proxy(json!({"pools": [{"servers": [{"url": up.url()}]}],
        "compression": {"minLength": 1}}));
    let mut c = ctx("GET", "/", &[("accept-encoding", "gzip")]);
    assert_eq!(run(&p, &mut c).await, "");
    let r = response(&c);
    assert_eq!(r.headers["content-encoding"], "gzip");
    assert!(lengths(&r.headers).is_empty(), "{:?}", r.headers);
}

#[tokio::test]
async fn head_answers_keep_the_representation_length() {
    let up = RawUpstream::start(b"HTTP/1.1 200 OK\r\nContent-Length: 42\r\n\r\n").await;
    let p = simple(&[up.url()], json!({}));
    let mut c = ctx("HEAD", "/", &[]);
    assert_eq!(run(&p, &mut c).await, "");
    assert_eq!(lengths(&response(&c).headers), ["42"]);
}

#[tokio::test]
async fn a_length_of_an_earlier_response_does_not_frame_the_proxied_body() {
    let up = RawUpstream::start(TE_AND_CL).await;
    let p = simple(&[up.url()], json!({"serverMaxBodySize": -1}));
    let mut c = ctx("GET", "/", &[]);
    let mut earlier = HttpResponse::with_body(StatusCode::OK, "abc");
    earlier.set_header(http::header::CONTENT_LENGTH, "3");
    earlier.set_header(http::HeaderName::from_static("x-earlier"), "1");
    c.set_response(earlier);
    assert_eq!(run(&p, &mut c).await, "");
    let r = response(&c);
    assert!(lengths(&r.headers).is_empty(), "{:?}", r.headers);
    assert_eq!(r.headers["x-earlier"], "1");
    assert_eq!(body_text(&mut c).await, "hello");
}

#[tokio::test]
async fn a_changed_request_body_is_sent_with_its_own_length() {
    let up = Upstream::start(|_| Reply::text(200, "ok")).await;
    let p = simple(&[up.url()], json!({"timeout": "2s"}));
    // A filter replaced the body and left the old length.
    let mut c = ctx("POST", "/", &[("content-length", "1")]);
    c.request_mut().unwrap().body = Body::full("hello");
    assert_eq!(run(&p, &mut c).await, "");
    let seen = up.last();
    assert_eq!(lengths(&seen.headers), ["5"]);
    assert_eq!(seen.body, "hello");

    // A filter emptied the body.
    let mut c = ctx("POST", "/", &[("content-length", "5")]);
    c.request_mut().unwrap().body = Body::Empty;
    assert_eq!(run(&p, &mut c).await, "");
    let seen = up.last();
    assert_eq!(lengths(&seen.headers), ["0"]);
    assert!(seen.body.is_empty());
}

#[tokio::test]
async fn a_streamed_request_body_with_both_framings_goes_chunked() {
    let up = Upstream::start(|_| Reply::text(200, "ok")).await;
    let p = simple(&[up.url()], json!({"timeout": "2s"}));
    let mut c = ctx(
        "POST",
        "/",
        &[("transfer-encoding", "chunked"), ("content-length", "3")],
    );
    let (tx, body) = chan_body();
    c.request_mut().unwrap().body = body;
    tx.send(Ok(Bytes::from_static(b"hello"))).unwrap();
    drop(tx);
    assert_eq!(run(&p, &mut c).await, "");
    let seen = up.last();
    assert!(lengths(&seen.headers).is_empty(), "{:?}", seen.headers);
    assert_eq!(seen.headers["transfer-encoding"], "chunked");
    assert_eq!(seen.body, "hello");
}

#[tokio::test]
async fn an_unasked_for_switching_protocols_is_a_bad_gateway() {
    let up = RawUpstream::start(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\n",
    )
    .await;
    let p = simple(&[up.url()], json!({"timeout": "2s"}));
    for (method, headers) in [
        ("GET", &[][..]),
        // Upgrade is hop-by-hop: the upstream never sees the client's wish.
        ("GET", &[("connection", "upgrade"), ("upgrade", "x")][..]),
    ] {
        let mut c = ctx(method, "/", headers);
        assert_eq!(run(&p, &mut c).await, "serverError");
        let r = response(&c);
        assert_eq!(r.status, 502);
        assert!(!r.headers.contains_key("upgrade"));
    }
}
