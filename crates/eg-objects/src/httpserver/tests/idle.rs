//! Kept-alive HTTP/1 connections that wait between requests: hyper lets them go while they
//! are idle and takes them back when the client speaks again, which a client must never
//! notice — not with a pause, a request split across the pause, pipelined requests, nor a
//! request with a body before the pause.

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::*;

/// Long enough for the server to have answered, flushed and let the connection go idle;
/// what is tested is that the connection keeps working after such a pause, so it is a
/// pause, not a wait for a condition.
const PAUSE: Duration = Duration::from_millis(100);
/// Bound on any read of an answer.
const READ_LIMIT: Duration = Duration::from_secs(10);

async fn serve(sup: &Supervisor, fields: Value) -> u16 {
    apply(sup, echo("pl", "pl"));
    let port = free_port();
    let mut doc = json!({"rules": [{"paths": [{"pathPrefix": "/", "backend": "pl"}]}]});
    if let (Some(d), Some(f)) = (doc.as_object_mut(), fields.as_object()) {
        for (k, v) in f {
            d.insert(k.clone(), v.clone());
        }
    }
    start(sup, server("hs", port, doc)).await;
    port
}

/// Reads one answer with a `Content-Length` body from `s`: its status and its echo
/// document.
async fn read_answer(s: &mut TcpStream, pending: &mut Vec<u8>) -> (u16, Value) {
    let mut buf = [0u8; 4096];
    loop {
        if let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&pending[..end]).into_owned();
            let len: usize = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().ok())?
                })
                .expect("a Content-Length");
            if pending.len() >= end + 4 + len {
                let body: Vec<u8> = pending.drain(..end + 4 + len).skip(end + 4).collect();
                let doc = serde_json::from_slice(&body).expect("an echo document");
                return (eg_testkit::status_of(&head), doc);
            }
        }
        let n = tokio::time::timeout(READ_LIMIT, s.read(&mut buf))
            .await
            .expect("an answer in time")
            .expect("read");
        assert!(n > 0, "connection closed before a whole answer");
        pending.extend_from_slice(&buf[..n]);
    }
}

async fn write(s: &mut TcpStream, bytes: &str) {
    s.write_all(bytes.as_bytes()).await.expect("write");
}

#[tokio::test]
async fn a_kept_alive_connection_serves_after_idle_pauses() {
    let sup = supervisor(None);
    let port = serve(&sup, json!({})).await;
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let mut pending = Vec::new();
    for i in 0..3 {
        write(&mut s, &format!("GET /r{i} HTTP/1.1\r\nHost: a\r\n\r\n")).await;
        let (status, doc) = read_answer(&mut s, &mut pending).await;
        assert_eq!(status, 200);
        assert_eq!(doc["path"], format!("/r{i}"));
        tokio::time::sleep(PAUSE).await;
    }
    assert!(pending.is_empty(), "nothing more than the answers");
}

#[tokio::test]
async fn a_request_split_across_a_pause_is_served_once_complete() {
    let sup = supervisor(None);
    let port = serve(&sup, json!({})).await;
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let mut pending = Vec::new();
    // The first answer comes while the start of the second request is already read.
    write(
        &mut s,
        "GET /first HTTP/1.1\r\nHost: a\r\n\r\nGET /second HTTP/1.1\r\nHo",
    )
    .await;
    let (status, doc) = read_answer(&mut s, &mut pending).await;
    assert_eq!((status, doc["path"].as_str()), (200, Some("/first")));
    tokio::time::sleep(PAUSE).await;
    write(&mut s, "st: a\r\nX-Late: 1\r\n\r\n").await;
    let (status, doc) = read_answer(&mut s, &mut pending).await;
    assert_eq!((status, doc["path"].as_str()), (200, Some("/second")));
    assert_eq!(doc["headers"]["x-late"], "1");
    // A head that starts after a pause, in pieces.
    tokio::time::sleep(PAUSE).await;
    write(&mut s, "GET /third HTTP/1.1\r\n").await;
    tokio::time::sleep(PAUSE).await;
    write(&mut s, "Host: a\r\n\r\n").await;
    let (status, doc) = read_answer(&mut s, &mut pending).await;
    assert_eq!((status, doc["path"].as_str()), (200, Some("/third")));
}

#[tokio::test]
async fn pipelined_requests_are_answered_in_order() {
    let sup = supervisor(None);
    let port = serve(&sup, json!({})).await;
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let mut pending = Vec::new();
    let burst: String = (0..4)
        .map(|i| format!("GET /p{i} HTTP/1.1\r\nHost: a\r\n\r\n"))
        .collect();
    write(&mut s, &burst).await;
    for i in 0..4 {
        let (status, doc) = read_answer(&mut s, &mut pending).await;
        assert_eq!(status, 200);
        assert_eq!(doc["path"], format!("/p{i}"));
    }
    tokio::time::sleep(PAUSE).await;
    write(&mut s, "GET /after HTTP/1.1\r\nHost: a\r\n\r\n").await;
    let (_, doc) = read_answer(&mut s, &mut pending).await;
    assert_eq!(doc["path"], "/after");
}

#[tokio::test]
async fn requests_with_bodies_keep_their_framing_across_pauses() {
    let sup = supervisor(None);
    let port = serve(&sup, json!({})).await;
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let mut pending = Vec::new();
    write(
        &mut s,
        "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
    )
    .await;
    let (_, doc) = read_answer(&mut s, &mut pending).await;
    assert_eq!(
        (doc["path"].as_str(), doc["body"].as_str()),
        (Some("/a"), Some("hello"))
    );
    tokio::time::sleep(PAUSE).await;
    write(
        &mut s,
        "POST /b HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n",
    )
    .await;
    tokio::time::sleep(PAUSE).await;
    write(&mut s, "0\r\n\r\n").await;
    let (_, doc) = read_answer(&mut s, &mut pending).await;
    assert_eq!(
        (doc["path"].as_str(), doc["body"].as_str()),
        (Some("/b"), Some("abc"))
    );
    tokio::time::sleep(PAUSE).await;
    write(&mut s, "GET /c HTTP/1.1\r\nHost: a\r\n\r\n").await;
    let (_, doc) = read_answer(&mut s, &mut pending).await;
    assert_eq!(
        (doc["path"].as_str(), doc["bodyLen"].as_u64()),
        (Some("/c"), Some(0))
    );
}

#[tokio::test]
async fn an_idle_connection_is_kept_until_keep_alive_timeout_then_closed() {
    let sup = supervisor(None);
    let port = serve(&sup, json!({"keepAliveTimeout": "400ms"})).await;
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let mut pending = Vec::new();
    write(&mut s, "GET /x HTTP/1.1\r\nHost: a\r\n\r\n").await;
    let (status, _) = read_answer(&mut s, &mut pending).await;
    assert_eq!(status, 200);
    let idle_since = std::time::Instant::now();
    let mut byte = [0u8; 1];
    let n = tokio::time::timeout(READ_LIMIT, s.read(&mut byte))
        .await
        .expect("closed by the server")
        .unwrap_or(0);
    assert_eq!(n, 0, "closed without a byte");
    assert!(
        idle_since.elapsed() >= Duration::from_millis(300),
        "closed after {:?}, before keepAliveTimeout",
        idle_since.elapsed()
    );
}

#[tokio::test]
async fn a_client_closing_an_idle_connection_frees_its_slot() {
    let sup = supervisor(None);
    let port = serve(&sup, json!({"maxConnections": 1})).await;
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let mut pending = Vec::new();
    write(&mut s, "GET /x HTTP/1.1\r\nHost: a\r\n\r\n").await;
    read_answer(&mut s, &mut pending).await;
    tokio::time::sleep(PAUSE).await;
    drop(s);
    let r = tokio::time::timeout(READ_LIMIT, get(port, "/y"))
        .await
        .expect("the slot of the closed connection is free");
    assert_eq!(r.server(), "pl");
}

/// Sends a request head that never ends, one byte every 20 ms, until the server closes
/// the connection; returns how long that took and what the server sent.
async fn trickle_until_closed(mut s: TcpStream) -> (Duration, String) {
    let started = std::time::Instant::now();
    let (mut rd, mut wr) = s.split();
    let reader = async {
        let mut out = Vec::new();
        let _ = rd.read_to_end(&mut out).await;
        out
    };
    let writer = async {
        wr.write_all(b"GET /x HTTP/1.1\r\nHost: a\r\nX-Pad: ")
            .await
            .ok()?;
        loop {
            tokio::time::sleep(Duration::from_millis(20)).await;
            wr.write_all(b"a").await.ok()?;
        }
        #[allow(unreachable_code)]
        Some(())
    };
    let out = tokio::time::timeout(READ_LIMIT, async {
        tokio::pin!(reader);
        tokio::select! {
            out = &mut reader => out,
            _ = writer => reader.await,
        }
    })
    .await
    .expect("the server gives up on a head that never ends");
    (
        started.elapsed(),
        String::from_utf8_lossy(&out).into_owned(),
    )
}

/// Trickles a head on `s` and checks the server closes it (at most with a 408), and not
/// before its 300 ms `keepAliveTimeout`.
async fn assert_cut_off(s: TcpStream) {
    let (took, sent) = trickle_until_closed(s).await;
    assert!(
        sent.is_empty() || sent.starts_with("HTTP/1.1 408"),
        "{sent:?}"
    );
    assert!(took >= Duration::from_millis(250), "cut off after {took:?}");
}

#[tokio::test]
async fn a_head_trickling_in_on_a_new_connection_is_cut_off() {
    let sup = supervisor(None);
    let port = serve(&sup, json!({"keepAliveTimeout": "300ms"})).await;
    let s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    assert_cut_off(s).await;
}

#[tokio::test]
async fn a_head_trickling_in_after_a_request_is_cut_off() {
    let sup = supervisor(None);
    let port = serve(&sup, json!({"keepAliveTimeout": "300ms"})).await;
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let mut pending = Vec::new();
    write(&mut s, "GET /x HTTP/1.1\r\nHost: a\r\n\r\n").await;
    let (status, _) = read_answer(&mut s, &mut pending).await;
    assert_eq!(status, 200);
    // Long enough for the connection to have been let go while idle and taken back.
    tokio::time::sleep(PAUSE).await;
    assert_cut_off(s).await;
}

#[tokio::test]
async fn a_request_slower_than_a_sweep_but_within_the_timeout_is_served() {
    let sup = supervisor(None);
    let port = serve(&sup, json!({"keepAliveTimeout": "5s"})).await;
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let mut pending = Vec::new();
    // The head arrives in pieces spanning several sweeps of the idle connections.
    for piece in [
        "GET /slow HTTP/1.1\r\n",
        "Host: a\r\n",
        "X-A: 1\r\n",
        "\r\n",
    ] {
        write(&mut s, piece).await;
        tokio::time::sleep(PAUSE).await;
    }
    let (status, doc) = read_answer(&mut s, &mut pending).await;
    assert_eq!((status, doc["path"].as_str()), (200, Some("/slow")));
}

#[tokio::test]
async fn back_to_back_requests_with_bodies_outlast_the_head_deadline() {
    let sup = supervisor(None);
    let port = serve(&sup, json!({"keepAliveTimeout": "300ms"})).await;
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let mut pending = Vec::new();
    // A connection that keeps completing requests is never stalled, although between two
    // of them (the last request had a body) hyper cannot let it go idle.
    let started = std::time::Instant::now();
    let mut served = 0;
    while started.elapsed() < Duration::from_secs(1) {
        write(
            &mut s,
            "POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc",
        )
        .await;
        let (status, doc) = read_answer(&mut s, &mut pending).await;
        assert_eq!((status, doc["bodyLen"].as_u64()), (200, Some(3)));
        served += 1;
    }
    assert!(served > 10, "only {served} requests in a second");
}

/// Every idle keep-alive connection keeps its task: the connection's future in tokio's task
/// cell, with a 32-byte header, 24 bytes of scheduler, task id and stage, and a 48-byte
/// trailer, aligned to 128 bytes. With a future of at most 920 bytes the cell is 1,024 bytes,
/// one of the allocator's size classes; one byte more and it takes 1,280.
#[test]
fn a_plain_connection_task_stays_within_a_kilobyte() {
    let size = crate::gate::listener::plain_connection_future_size::<super::super::mux::Mux>();
    assert!(
        size <= 920,
        "a connection's future is {size} bytes: its task no longer fits in 1,024"
    );
}
