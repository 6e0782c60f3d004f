//! Compression, mirroring, streaming.

use std::io::Read as _;

use super::*;

fn gunzip(b: &[u8]) -> String {
    let mut s = String::new();
    flate2::read::GzDecoder::new(b)
        .read_to_string(&mut s)
        .unwrap();
    s
}

#[tokio::test]
async fn gzip_compression_rules() {
    let up = Upstream::start(|s| match s.target.as_str() {
        "/small" => Reply::text(200, "tiny"),
        "/gz" => Reply::text(200, "already").header("content-encoding", "gzip"),
        _ => Reply::text(200, &"hello world ".repeat(20)),
    })
    .await;
    let p = proxy(json!({"compression": {"minLength": 10},
        "pools": [{"servers": [{"url": up.url()}]}]}));

    let mut c = ctx("GET", "/", &[("accept-encoding", "gzip, deflate")]);
    assert_eq!(run(&p, &mut c).await, "");
    let r = response(&c);
    assert_eq!(r.headers["content-encoding"], "gzip");
    assert_eq!(r.headers["vary"], "Content-Encoding");
    assert!(!r.headers.contains_key("content-length"));
    let b = c.response_mut().unwrap().body.buffer(None).await.unwrap();
    assert_eq!(gunzip(&b), "hello world ".repeat(20));

    // No Accept-Encoding at all: compressed too (Easegress's rule).
    let mut c = ctx("GET", "/", &[]);
    run(&p, &mut c).await;
    assert_eq!(response(&c).headers["content-encoding"], "gzip");

    // Client does not take gzip.
    let mut c = ctx("GET", "/", &[("accept-encoding", "br")]);
    run(&p, &mut c).await;
    assert!(!response(&c).headers.contains_key("content-encoding"));

    // Below minLength.
    let mut c = ctx("GET", "/small", &[("accept-encoding", "gzip")]);
    run(&p, &mut c).await;
    assert!(!response(&c).headers.contains_key("content-encoding"));
    assert_eq!(body_text(&mut c).await, "tiny");

    // Already encoded.
    let mut c = ctx("GET", "/gz", &[("accept-encoding", "*/*")]);
    run(&p, &mut c).await;
    assert_eq!(body_text(&mut c).await, "already");
}

#[tokio::test]
async fn streamed_responses_are_gzipped_chunk_by_chunk() {
    let up = Upstream::start(|_| Reply::text(200, &"stream me ".repeat(50))).await;
    let p = proxy(
        json!({"compression": {"minLength": 0}, "serverMaxBodySize": -1,
        "pools": [{"servers": [{"url": up.url()}]}]}),
    );
    let mut c = ctx("GET", "/", &[("accept-encoding", "gzip")]);
    run(&p, &mut c).await;
    assert_eq!(response(&c).headers["content-encoding"], "gzip");
    let b = c.response_mut().unwrap().body.buffer(None).await.unwrap();
    assert_eq!(gunzip(&b), "stream me ".repeat(50));
}

#[tokio::test]
async fn mirror_gets_a_copy_and_its_answer_is_discarded() {
    let main = Upstream::named("main").await;
    let mirror = Upstream::start(|_| Reply::text(500, "mirror")).await;
    let p = proxy(json!({
        "pools": [{"servers": [{"url": main.url()}]}],
        "mirrorPool": {"servers": [{"url": mirror.url()}],
            "filter": {"headers": {"X-Mirror": {"exact": "1"}}}},
    }));
    let mut c = ctx("POST", "/m?x=1", &[("x-mirror", "1")]);
    c.request_mut().unwrap().body = Body::full("payload");
    assert_eq!(run(&p, &mut c).await, "");
    assert_eq!(body_text(&mut c).await, "main");
    wait_until("mirror request", || mirror.hits() == 1).await;
    let seen = mirror.last();
    assert_eq!(seen.target, "/m?x=1");
    assert_eq!(seen.body, "payload");

    // Not matching: no copy.
    let mut c = ctx("GET", "/", &[]);
    run(&p, &mut c).await;
    assert_eq!(main.hits(), 2);

    // A streamed body is replaced by a note for the mirror.
    let mut c = ctx("POST", "/s", &[("x-mirror", "1"), ("content-length", "3")]);
    let (tx, body) = chan_body();
    c.request_mut().unwrap().body = body;
    tx.send(Ok(Bytes::from_static(b"abc"))).unwrap();
    drop(tx);
    assert_eq!(run(&p, &mut c).await, "");
    assert_eq!(main.last().body, "abc");
    wait_until("mirror stream note", || mirror.hits() == 2).await;
    assert_eq!(mirror.last().body, super::super::mirror::STREAM_BODY_TEXT);
}

/// Where the test feeds the body of the upstream's current answer.
type Feed = Arc<Mutex<Option<mpsc::UnboundedSender<Result<Bytes, BodyError>>>>>;

/// An upstream whose body chunks the test sends one by one.
async fn chunked_upstream(content_type: &'static str) -> (Upstream, Feed) {
    let sender = Arc::new(Mutex::new(None));
    let s2 = sender.clone();
    let up = Upstream::start(move |_| {
        let (tx, body) = chan_body();
        *s2.lock() = Some(tx);
        Reply {
            status: 200,
            headers: vec![("content-type", content_type.to_string())],
            body: boxed(body),
            delay: None,
        }
    })
    .await;
    (up, sender)
}

async fn first_frame(c: &mut Context) -> Bytes {
    let body = &mut c.response_mut().unwrap().body;
    loop {
        let f = body.frame().await.expect("body ended").unwrap();
        if let Ok(d) = f.into_data() {
            if !d.is_empty() {
                return d;
            }
        }
    }
}

#[tokio::test]
async fn event_streams_flow_as_they_arrive() {
    // Default serverMaxBodySize: an event stream is still streamed.
    let (up, sender) = chunked_upstream("text/event-stream").await;
    let p = simple(&[up.url()], json!({}));
    let mut c = ctx("GET", "/events", &[]);
    wait_until_sent(&sender, "data: 1\n\n").await;
    assert_eq!(run(&p, &mut c).await, "");
    assert_eq!(first_frame(&mut c).await, "data: 1\n\n");
    wait_until_sent(&sender, "data: 2\n\n").await;
    assert_eq!(first_frame(&mut c).await, "data: 2\n\n");
    sender.lock().take();
    let rest = c.response_mut().unwrap().body.frame().await;
    assert!(rest.is_none());
}

#[tokio::test]
async fn chunked_response_streams_with_minus_one() {
    let (up, sender) = chunked_upstream("text/plain").await;
    let p = simple(&[up.url()], json!({"serverMaxBodySize": -1}));
    let mut c = ctx("GET", "/", &[]);
    wait_until_sent(&sender, "part1").await;
    assert_eq!(run(&p, &mut c).await, "");
    assert_eq!(first_frame(&mut c).await, "part1");
    wait_until_sent(&sender, "part2").await;
    assert_eq!(first_frame(&mut c).await, "part2");
}

async fn wait_until_sent(sender: &Feed, data: &'static str) {
    // The upstream creates its sender when the request arrives; before that, queue by
    // spawning a task that waits for it.
    let sender = sender.clone();
    tokio::spawn(async move {
        wait_until("upstream stream", || sender.lock().is_some()).await;
        let tx = sender.lock().clone().unwrap();
        tx.send(Ok(Bytes::from_static(data.as_bytes()))).unwrap();
    });
}
