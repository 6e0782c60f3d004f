//! The codec against a scripted server that answers each request with raw bytes.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use eg_protocols::Body;
use http::uri::Authority;
use http::Request;
use http_body_util::BodyExt;
use parking_lot::Mutex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::connections::host_pool::{HostPool, IdleBudget, SendError};

/// What the scripted server does after reading a request.
enum Then {
    /// Writes these bytes and reads the next request.
    Answer(Vec<u8>),
    /// Writes these bytes and closes the connection.
    AnswerAndClose(Vec<u8>),
    /// Closes without answering.
    Close,
}

/// A server answering request `n` (counted over all connections) with `script(n)`.
struct Scripted {
    authority: Authority,
    /// Connections accepted.
    accepted: Arc<AtomicUsize>,
    /// Every request as it arrived (head and body).
    requests: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl Scripted {
    async fn start(script: impl Fn(usize) -> Then + Send + Sync + 'static) -> Scripted {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let authority: Authority = listener.local_addr().unwrap().to_string().parse().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(script);
        let (acc, reqs) = (accepted.clone(), requests.clone());
        tokio::spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else {
                    return;
                };
                acc.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(serve(sock, script.clone(), reqs.clone()));
            }
        });
        Scripted {
            authority,
            accepted,
            requests,
        }
    }

    fn pool(&self) -> Arc<HostPool> {
        HostPool::new(&self.authority, 8, Arc::new(IdleBudget::new(usize::MAX)))
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    fn request(&self, i: usize) -> String {
        String::from_utf8_lossy(&self.requests.lock()[i]).into_owned()
    }
}

async fn serve(
    mut sock: TcpStream,
    script: Arc<dyn Fn(usize) -> Then + Send + Sync>,
    requests: Arc<Mutex<Vec<Vec<u8>>>>,
) {
    let mut buf = Vec::new();
    loop {
        // One request: the head, then a Content-Length body.
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let mut chunk = [0u8; 4096];
            match sock.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "))
            .map_or(0, |v| v.trim().parse().unwrap());
        while buf.len() < head_end + len {
            let mut chunk = [0u8; 4096];
            match sock.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let n = {
            let mut r = requests.lock();
            r.push(buf.drain(..head_end + len).collect());
            r.len() - 1
        };
        match script(n) {
            Then::Answer(b) => {
                if sock.write_all(&b).await.is_err() {
                    return;
                }
            }
            Then::AnswerAndClose(b) => {
                let _ = sock.write_all(&b).await;
                return;
            }
            Then::Close => return,
        }
    }
}

fn get(path: &str) -> Request<Body> {
    Request::builder()
        .uri(path)
        .header("host", "up.example")
        .body(Body::Empty)
        .unwrap()
}

/// Sends `req` and reads the whole answer: status, a header, body.
async fn call(pool: &Arc<HostPool>, req: Request<Body>) -> (u16, Option<String>, Bytes) {
    let resp = pool.send(req, true).await.expect("an answer");
    let status = resp.status().as_u16();
    let x = resp
        .headers()
        .get("x-a")
        .map(|v| v.to_str().unwrap().to_string());
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, x, body)
}

fn ok(body: &str) -> Then {
    Then::Answer(
        format!(
            "HTTP/1.1 200 OK\r\nX-A: 1\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    )
}

/// Whether an idle connection's read buffer (once nothing else holds a part of it) has
/// room for more than the buffer a connection starts with.
fn read_buffer_grew(conn: &mut super::Conn) -> bool {
    conn.rbuf.clear();
    conn.rbuf.try_reclaim(super::READ_CHUNK + 1)
}

#[tokio::test]
async fn the_request_goes_out_as_its_head_says_with_its_body() {
    let s = Scripted::start(|_| ok("fine")).await;
    let pool = s.pool();
    let req = Request::builder()
        .method("POST")
        .uri("/p/a?q=1&r")
        .header("host", "up.example")
        .header("x-multi", "1")
        .header("x-multi", "2")
        .header("transfer-encoding", "chunked")
        .body(Body::full("hello"))
        .unwrap();
    assert_eq!(call(&pool, req).await.2, "fine");
    assert_eq!(
        s.request(0),
        "POST /p/a?q=1&r HTTP/1.1\r\nhost: up.example\r\nx-multi: 1\r\nx-multi: 2\r\n\
         content-length: 5\r\n\r\nhello"
    );
    // A wrong Content-Length is replaced by the body's; an empty body sends none.
    let req = Request::builder()
        .method("PUT")
        .uri("/x")
        .header("content-length", "99")
        .body(Body::full("abc"))
        .unwrap();
    call(&pool, req).await;
    assert_eq!(
        s.request(1),
        "PUT /x HTTP/1.1\r\ncontent-length: 3\r\n\r\nabc"
    );
    call(&pool, get("/")).await;
    assert_eq!(s.request(2), "GET / HTTP/1.1\r\nhost: up.example\r\n\r\n");
    assert_eq!(
        s.accepted(),
        1,
        "one kept-alive connection served all three"
    );
}

#[tokio::test]
async fn framings_are_read_and_the_connection_kept_when_it_can_be() {
    let answers: Vec<&'static [u8]> = vec![
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: c\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nT: 1\r\n\r\n",
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok",
        b"HTTP/1.1 204 No Content\r\nX-A: n\r\n\r\n",
        b"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n",
    ];
    let script = answers.clone();
    let s = Scripted::start(move |n| Then::Answer(script[n].to_vec())).await;
    let pool = s.pool();
    assert_eq!(
        call(&pool, get("/")).await,
        (200, Some("c".into()), Bytes::from("abcde"))
    );
    assert_eq!(call(&pool, get("/")).await, (201, None, Bytes::from("ok")));
    assert_eq!(
        call(&pool, get("/")).await,
        (204, Some("n".into()), Bytes::new())
    );
    assert_eq!(call(&pool, get("/")).await.0, 304);
    assert_eq!(s.accepted(), 1);
    assert_eq!(pool.idle_count(), 1);
}

#[tokio::test]
async fn head_answers_carry_no_body() {
    let s = Scripted::start(|_| {
        Then::Answer(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n".to_vec())
    })
    .await;
    let pool = s.pool();
    for _ in 0..2 {
        let mut req = get("/");
        *req.method_mut() = http::Method::HEAD;
        let resp = pool.send(req, true).await.unwrap();
        assert_eq!(resp.headers()["content-length"], "1000");
        assert!(resp
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .is_empty());
    }
    assert_eq!(s.accepted(), 1);
}

#[tokio::test]
async fn a_body_to_the_close_ends_the_connection() {
    let s =
        Scripted::start(|_| Then::AnswerAndClose(b"HTTP/1.1 200 OK\r\n\r\nuntil the end".to_vec()))
            .await;
    let pool = s.pool();
    assert_eq!(call(&pool, get("/")).await.2, "until the end");
    assert_eq!(call(&pool, get("/")).await.2, "until the end");
    assert_eq!(s.accepted(), 2);
    assert_eq!(pool.idle_count(), 0);
}

#[tokio::test]
async fn connections_the_server_ends_are_not_used_again() {
    let answers: Vec<Vec<u8>> = vec![
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\na".to_vec(),
        b"HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nb".to_vec(),
        // Bytes after the answer: the connection is out of step.
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\ncEXTRA".to_vec(),
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nd".to_vec(),
    ];
    let s = Scripted::start(move |n| Then::Answer(answers[n].clone())).await;
    let pool = s.pool();
    for want in ["a", "b", "c", "d"] {
        assert_eq!(call(&pool, get("/")).await.2, want);
    }
    assert_eq!(s.accepted(), 4);
}

#[tokio::test]
async fn an_idle_connection_the_server_closed_is_skipped() {
    // The first connection answers and closes on its side afterwards (keep-alive said).
    let s = Scripted::start(|n| {
        let b = format!("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n{n}").into_bytes();
        if n == 0 {
            Then::AnswerAndClose(b)
        } else {
            Then::Answer(b)
        }
    })
    .await;
    let pool = s.pool();
    assert_eq!(call(&pool, get("/")).await.2, "0");
    assert_eq!(pool.idle_count(), 1);
    // The close reaches the pool's socket.
    assert!(
        eg_testkit::poll_until(std::time::Duration::from_secs(5), || {
            pool.idle_usable() == [false]
        })
        .await
    );
    assert_eq!(call(&pool, get("/")).await.2, "1");
    assert_eq!(s.accepted(), 2);
}

#[tokio::test]
async fn an_idle_connection_outlives_a_pause_of_seconds() {
    let s = Scripted::start(|_| {
        Then::Answer(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx".to_vec())
    })
    .await;
    let pool = s.pool();
    assert_eq!(call(&pool, get("/")).await.2, "x");
    // Longer than the keep-alive of the backends quickest to close (Node.js: 5 s), and than
    // several rounds of the reaper: traffic that pauses this long keeps its connection.
    tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    assert_eq!(pool.idle_count(), 1);
    assert_eq!(call(&pool, get("/")).await.2, "x");
    assert_eq!(s.accepted(), 1);
}

#[tokio::test]
async fn a_server_that_drops_the_request_is_a_stale_connection() {
    let s = Scripted::start(|_| Then::Close).await;
    let pool = s.pool();
    match pool.send(get("/"), true).await {
        Err(SendError::Exchange(e)) => assert!(e.is_stale(), "{e}"),
        other => panic!(
            "expected a closed connection, got {:?}",
            other.map(|r| r.status())
        ),
    }
}

#[tokio::test]
async fn bad_answers_fail_without_being_kept() {
    for (answer, what) in [
        (
            &b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n"[..],
            "content-length",
        ),
        (b"NOT HTTP\r\n\r\n", "malformed"),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            "conflicting",
        ),
    ] {
        let s = Scripted::start(move |_| Then::Answer(answer.to_vec())).await;
        let pool = s.pool();
        match pool.send(get("/"), true).await {
            Err(SendError::Exchange(e)) => {
                assert!(!e.is_stale());
                assert!(e.to_string().contains(what), "{e}");
            }
            other => panic!("expected an error, got {:?}", other.map(|r| r.status())),
        }
        assert_eq!(pool.idle_count(), 0);
    }
}

#[tokio::test]
async fn a_body_cut_short_is_an_error_of_the_body() {
    let s = Scripted::start(|_| {
        Then::AnswerAndClose(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\nabc".to_vec())
    })
    .await;
    let pool = s.pool();
    let resp = pool.send(get("/"), true).await.unwrap();
    assert!(resp.into_body().collect().await.is_err());
    let s = Scripted::start(|_| {
        Then::AnswerAndClose(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab".to_vec(),
        )
    })
    .await;
    let resp = s.pool().send(get("/"), true).await.unwrap();
    assert!(resp.into_body().collect().await.is_err());
}

#[tokio::test]
async fn a_long_body_streams_with_its_length_known() {
    let long = "x".repeat(1 << 20);
    let body = long.clone();
    let s = Scripted::start(move |n| if n == 0 { ok(&body) } else { ok("small") }).await;
    let pool = s.pool();
    let resp = pool.send(get("/"), true).await.unwrap();
    let mut body = resp.into_body();
    assert_eq!(http_body::Body::size_hint(&body).exact(), Some(1 << 20));
    let mut got = Vec::new();
    let mut frames = 0;
    while let Some(f) = body.frame().await {
        got.extend_from_slice(&f.unwrap().into_data().unwrap());
        frames += 1;
    }
    assert_eq!(got, long.as_bytes());
    assert!(frames > 1, "streamed, not read whole first");
    // Read to its end: the connection went back.
    assert_eq!(pool.idle_count(), 1);
    // The buffer grown for the stream is not kept for the short answers that follow.
    drop(got);
    assert_eq!(call(&pool, get("/small")).await.2, "small");
    let mut conn = pool.take_idle().expect("kept");
    assert!(!read_buffer_grew(&mut conn));
    assert_eq!(s.accepted(), 1);
}

#[tokio::test]
async fn a_body_longer_than_the_read_buffer_is_read_apart_from_it() {
    let n = 3 * super::READ_CHUNK;
    let s = Scripted::start(move |i| {
        let mut b = format!("HTTP/1.1 200 OK\r\nContent-Length: {n}\r\n\r\n").into_bytes();
        b.resize(b.len() + n, b'a' + i as u8);
        if i == 1 {
            // Bytes past the body's end: that connection is out of step.
            b.extend_from_slice(b"EXTRA");
        }
        Then::Answer(b)
    })
    .await;
    let pool = s.pool();
    let resp = pool.send(get("/"), true).await.unwrap();
    assert!(resp.body().is_buffered(), "read whole, one buffer");
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body, vec![b'a'; n]);
    drop(body);
    // Kept, and its read buffer did not grow to the body's size.
    let mut conn = pool.take_idle().expect("kept");
    assert!(!read_buffer_grew(&mut conn));
    pool.put(conn);
    assert_eq!(call(&pool, get("/")).await.2, vec![b'b'; n]);
    assert_eq!(pool.idle_count(), 0, "bytes after the body: not kept");
    assert_eq!(call(&pool, get("/")).await.2, vec![b'c'; n]);
    assert_eq!(s.accepted(), 2);
}

#[tokio::test]
async fn large_request_bodies_go_through_hyper_on_kept_connections() {
    let s = Scripted::start(|_| ok("got it")).await;
    let pool = s.pool();
    let big = Bytes::from(vec![b'z'; 100 * 1024]);
    let req = Request::builder()
        .method("POST")
        .uri("/up")
        .header("content-length", big.len().to_string())
        .body(Body::Full(big.clone()))
        .unwrap();
    assert_eq!(call(&pool, req).await.2, "got it");
    assert!(s.request(0).ends_with(&"z".repeat(1000)));
    assert_eq!(
        s.request(0).len() - s.request(0).find("\r\n\r\n").unwrap() - 4,
        big.len()
    );
    // Its connection is kept for the next streamed body; the next small request opens
    // one of the codec's, kept too.
    let req = Request::builder()
        .method("POST")
        .uri("/up")
        .body(Body::Full(big.clone()))
        .unwrap();
    assert_eq!(call(&pool, req).await.2, "got it");
    call(&pool, get("/")).await;
    call(&pool, get("/")).await;
    assert_eq!(s.accepted(), 2);
    assert_eq!(pool.idle_count(), 2);
}

#[tokio::test]
async fn a_caller_that_streams_gets_even_a_short_body_as_a_stream() {
    let s = Scripted::start(|n| {
        if n == 0 {
            ok("short")
        } else {
            Then::Answer(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: 7\r\n\r\ndata: 1"
                    .to_vec(),
            )
        }
    })
    .await;
    let pool = s.pool();
    let resp = pool.send(get("/"), false).await.unwrap();
    assert!(!resp.body().is_buffered());
    assert_eq!(
        pool.idle_count(),
        0,
        "the body holds the connection until it is read"
    );
    assert_eq!(
        resp.into_body().collect().await.unwrap().to_bytes(),
        "short"
    );
    assert_eq!(pool.idle_count(), 1);
    // An event stream is never read whole, whatever the caller does with other bodies.
    let resp = pool.send(get("/"), true).await.unwrap();
    assert!(!resp.body().is_buffered());
    assert_eq!(
        resp.into_body().collect().await.unwrap().to_bytes(),
        "data: 1"
    );
}

#[tokio::test]
async fn a_kept_connection_reads_each_answer_at_the_front_of_its_buffer() {
    let s = Scripted::start(|_| ok("same length")).await;
    let pool = s.pool();
    call(&pool, get("/")).await;
    let conn = pool.take_idle().expect("kept");
    let after_one = conn.rbuf.as_ptr();
    pool.put(conn);
    for _ in 0..5 {
        call(&pool, get("/")).await;
    }
    // Each answer was read from the front again (nothing held the earlier ones), so the
    // buffer ends where it ended after the first.
    let conn = pool.take_idle().expect("kept");
    assert_eq!(conn.rbuf.as_ptr(), after_one);
    // While an earlier answer's bytes are held, reading goes on after them.
    pool.put(conn);
    let held = call(&pool, get("/")).await.2;
    call(&pool, get("/")).await;
    let conn = pool.take_idle().expect("kept");
    assert_ne!(conn.rbuf.as_ptr(), after_one);
    drop(held);
}
