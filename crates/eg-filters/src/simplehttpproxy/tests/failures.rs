//! Failures as Easegress maps them: unreachable targets, the timeout and oversized
//! answers are `serverError` (503); retries only for targets that could not be reached.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use http::StatusCode;
use tokio::net::TcpListener;

use super::*;

#[tokio::test]
async fn an_unreachable_target_is_a_server_error() {
    let p = plain();
    let mut c = ctx("GET", &format!("http://{}/x", closed_addr()), &[]);
    assert_eq!(run(&p, &mut c).await, "serverError");
    assert_eq!(response(&c).status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(p.status()["failures"], 1);
}

#[tokio::test]
async fn a_request_without_an_absolute_url_is_a_server_error() {
    let p = plain();
    for target in ["/only/a/path", "ftp://127.0.0.1/file"] {
        let mut c = ctx("GET", target, &[]);
        assert_eq!(run(&p, &mut c).await, "serverError", "{target}");
        assert_eq!(response(&c).status, StatusCode::SERVICE_UNAVAILABLE);
    }
}

#[tokio::test]
async fn the_timeout_bounds_an_attempt() {
    let slow = Upstream::start(|_| Reply::text(200, "late").delayed(Duration::from_secs(30))).await;
    let p = proxy(json!({"timeout": "50ms"}));
    let mut c = ctx("GET", &format!("{}/slow", slow.url()), &[]);
    assert_eq!(run(&p, &mut c).await, "serverError");
    assert_eq!(response(&c).status, StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn a_body_over_server_max_body_size_is_a_server_error() {
    let big = Upstream::start(|_| Reply::text(200, &"x".repeat(100))).await;
    let p = proxy(json!({"serverMaxBodySize": 10}));
    let mut c = ctx("GET", &format!("{}/big", big.url()), &[]);
    assert_eq!(run(&p, &mut c).await, "serverError");
    assert_eq!(response(&c).status, StatusCode::SERVICE_UNAVAILABLE);

    let p = proxy(json!({"serverMaxBodySize": 100}));
    let mut c = ctx("GET", &format!("{}/big", big.url()), &[]);
    assert_eq!(run(&p, &mut c).await, "");
    assert_eq!(body_text(&mut c).await.len(), 100);
}

/// An upstream that closes its first `fail` connections without answering, then answers
/// 200 `recovered`; returns its address and the connection count.
async fn flaky(fail: usize) -> (std::net::SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let conns = Arc::new(AtomicUsize::new(0));
    let counted = conns.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            if counted.fetch_add(1, Ordering::SeqCst) < fail {
                drop(stream);
                continue;
            }
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(|_req| async {
                    Ok::<_, std::convert::Infallible>(http::Response::new(
                        http_body_util::Full::new(bytes::Bytes::from_static(b"recovered")),
                    ))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    (addr, conns)
}

#[tokio::test]
async fn the_retry_policy_retries_a_target_that_failed() {
    let (addr, conns) = flaky(2).await;
    let p = try_build_with(json!({"retryPolicy": "retry"}), &[retry_policy(3)]).unwrap();
    // POST: not resent on a fresh connection by the stale-connection rule, so every
    // attempt is one connection.
    let mut c = ctx("POST", &format!("http://{addr}/r"), &[]);
    assert_eq!(run(&p, &mut c).await, "");
    assert_eq!(body_text(&mut c).await, "recovered");
    assert_eq!(conns.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn without_a_retry_policy_one_failure_is_the_answer() {
    let (addr, conns) = flaky(1).await;
    let p = plain();
    let mut c = ctx("POST", &format!("http://{addr}/r"), &[]);
    assert_eq!(run(&p, &mut c).await, "serverError");
    assert_eq!(conns.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn retries_stop_at_max_attempts() {
    let (addr, conns) = flaky(10).await;
    let p = try_build_with(json!({"retryPolicy": "retry"}), &[retry_policy(2)]).unwrap();
    let mut c = ctx("POST", &format!("http://{addr}/r"), &[]);
    assert_eq!(run(&p, &mut c).await, "serverError");
    assert_eq!(conns.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_streamed_request_body_is_not_retried() {
    let (addr, conns) = flaky(1).await;
    let p = try_build_with(json!({"retryPolicy": "retry"}), &[retry_policy(3)]).unwrap();
    let mut c = ctx("POST", &format!("http://{addr}/r"), &[]);
    let (tx, body) = chan_body();
    c.request_mut().unwrap().body = body;
    tx.send(Ok(bytes::Bytes::from_static(b"once"))).unwrap();
    drop(tx);
    assert_eq!(run(&p, &mut c).await, "serverError");
    assert_eq!(conns.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn an_upstream_error_status_is_passed_on_and_not_retried() {
    let up = Upstream::start(|_| Reply::text(500, "broken")).await;
    let p = try_build_with(json!({"retryPolicy": "retry"}), &[retry_policy(3)]).unwrap();
    let mut c = ctx("GET", &format!("{}/e", up.url()), &[]);
    assert_eq!(run(&p, &mut c).await, "");
    assert_eq!(response(&c).status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body_text(&mut c).await, "broken");
    assert_eq!(up.hits(), 1);
}
