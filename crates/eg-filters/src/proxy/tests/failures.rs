//! Failure → status/result mapping, retries, the keep-alive race.

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;

#[tokio::test]
async fn pool_timeout_is_408() {
    let up = Upstream::start(|_| Reply {
        delay: Some(Duration::from_secs(30)),
        ..Reply::text(200, "late")
    })
    .await;
    let p = simple(&[up.url()], json!({"timeout": "100ms"}));
    let mut c = ctx("GET", "/", &[]);
    assert_eq!(run(&p, &mut c).await, "timeout");
    assert_eq!(response(&c).status, 408);
}

#[tokio::test]
async fn connection_refused_is_503_server_error() {
    let addr = closed_addr();
    let p = simple(&[format!("http://{addr}")], json!({}));
    let mut c = ctx("GET", "/", &[]);
    assert_eq!(run(&p, &mut c).await, "serverError");
    assert_eq!(response(&c).status, 503);
}

#[tokio::test]
async fn failure_codes_keep_the_upstream_response() {
    let up = Upstream::start(|s| match s.target.as_str() {
        "/500" => Reply::text(500, "boom"),
        "/404" => Reply::text(404, "nope"),
        _ => Reply::text(200, "ok"),
    })
    .await;
    // Default: 5xx.
    let p = simple(&[up.url()], json!({}));
    let mut c = ctx("GET", "/500", &[]);
    assert_eq!(run(&p, &mut c).await, "failureCode");
    assert_eq!(response(&c).status, 500);
    assert_eq!(body_text(&mut c).await, "boom");
    let mut c = ctx("GET", "/404", &[]);
    assert_eq!(run(&p, &mut c).await, "");

    // Explicit list replaces the default.
    let p = simple(&[up.url()], json!({"failureCodes": [404]}));
    let mut c = ctx("GET", "/404", &[]);
    assert_eq!(run(&p, &mut c).await, "failureCode");
    assert_eq!(response(&c).status, 404);
    let mut c = ctx("GET", "/500", &[]);
    assert_eq!(run(&p, &mut c).await, "");
}

#[tokio::test]
async fn oversized_response_is_500_and_minus_one_streams() {
    let up = Upstream::start(|_| Reply::text(200, &"x".repeat(100))).await;
    let p = simple(&[up.url()], json!({"serverMaxBodySize": 10}));
    let mut c = ctx("GET", "/", &[]);
    assert_eq!(run(&p, &mut c).await, "internalError");
    assert_eq!(response(&c).status, 500);

    // Proxy-level setting, overridden by -1 in the pool.
    let p = proxy(json!({"serverMaxBodySize": 10,
        "pools": [{"servers": [{"url": up.url()}], "serverMaxBodySize": -1}]}));
    let mut c = ctx("GET", "/", &[]);
    assert_eq!(run(&p, &mut c).await, "");
    assert!(!response(&c).body.is_buffered());
    assert_eq!(body_text(&mut c).await.len(), 100);

    // Default 4 MiB buffers the body.
    let p = simple(&[up.url()], json!({}));
    let mut c = ctx("GET", "/", &[]);
    assert_eq!(run(&p, &mut c).await, "");
    assert!(response(&c).body.is_buffered());
}

#[tokio::test]
async fn retry_policy_retries_failures() {
    let up = Upstream::start(|_| Reply::text(503, "busy")).await;
    let ok = Arc::new(AtomicUsize::new(0));
    let ok2 = ok.clone();
    let flaky = Upstream::start(move |_| {
        if ok2.fetch_add(1, Ordering::SeqCst) < 2 {
            Reply::text(503, "busy")
        } else {
            Reply::text(200, "fine")
        }
    })
    .await;
    let mut res = Map::new();
    res.insert(
        "r".into(),
        json!({"name": "r", "kind": "Retry", "maxAttempts": 3, "waitDuration": "1ms"}),
    );
    let sup = supervisor();
    let p = try_build_with(
        json!({"pools": [{"servers": [{"url": flaky.url()}], "retryPolicy": "r"}]}),
        &res,
        &sup,
    )
    .unwrap();
    let mut c = ctx("GET", "/", &[]);
    assert_eq!(run(&p, &mut c).await, "");
    assert_eq!(body_text(&mut c).await, "fine");
    assert_eq!(flaky.hits(), 3);

    let p = try_build_with(
        json!({"pools": [{"servers": [{"url": up.url()}], "retryPolicy": "r"}]}),
        &res,
        &sup,
    )
    .unwrap();
    let mut c = ctx("GET", "/", &[]);
    assert_eq!(run(&p, &mut c).await, "failureCode");
    assert_eq!(up.hits(), 3);
}

/// A raw HTTP/1.1 server that answers the first request of each connection with
/// keep-alive, then closes the connection on the second request without answering: the
/// keep-alive race made deterministic.
async fn closing_server() -> (SocketAddr, Arc<AtomicUsize>) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let conns = Arc::new(AtomicUsize::new(0));
    let c2 = conns.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            c2.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let mut got = Vec::new();
                // First request (no body in these tests).
                while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                    let n = s.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    got.extend_from_slice(&buf[..n]);
                }
                let _ = s
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                    .await;
                // Second request: read it, then hang up.
                let _ = s.read(&mut buf).await;
            });
        }
    });
    (addr, conns)
}

#[tokio::test]
async fn reused_connection_closed_by_server_is_retried_for_idempotent_requests() {
    let (addr, conns) = closing_server().await;
    let p = simple(&[format!("http://{addr}")], json!({}));
    let mut c = ctx("GET", "/", &[]);
    assert_eq!(run(&p, &mut c).await, "");
    // Second GET: the pooled connection is dropped by the server; retried on a new one.
    let mut c = ctx("GET", "/", &[]);
    assert_eq!(run(&p, &mut c).await, "");
    assert_eq!(response(&c).status, 200);
    assert_eq!(conns.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn non_idempotent_request_on_a_dropped_connection_is_not_retried() {
    let (addr, _conns) = closing_server().await;
    let p = simple(&[format!("http://{addr}")], json!({}));
    let mut c = ctx("GET", "/", &[]);
    assert_eq!(run(&p, &mut c).await, "");
    let mut c = ctx("POST", "/", &[]);
    assert_eq!(run(&p, &mut c).await, "serverError");
    assert_eq!(response(&c).status, 503);
}
