//! The edge under hostile or unlucky clients: sockets that never speak, bad `Host` headers,
//! and listener restarts while clients are busy.

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use eg_testkit::{closed_silently, raw_async, status_of};

use super::*;

fn rules(path: &str, backend: &str) -> Value {
    json!({"rules": [{"paths": [{"pathPrefix": path, "backend": backend}]}]})
}

#[tokio::test]
async fn silent_connections_are_closed_and_free_their_slots() {
    let sup = supervisor(None);
    apply(&sup, echo("pl", "pl"));
    let port = free_port();
    let mut fields = rules("/", "pl");
    fields["keepAliveTimeout"] = json!("300ms");
    fields["maxConnections"] = json!(2);
    start(&sup, server("hs", port, fields)).await;
    // Two sockets that never send a byte take every slot...
    let a = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let b = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    // ...until the header timer, started at accept, closes them.
    closed_silently(a, Duration::from_secs(10)).await;
    closed_silently(b, Duration::from_secs(10)).await;
    let r = tokio::time::timeout(Duration::from_secs(10), get(port, "/x"))
        .await
        .expect("a new client is served once the silent ones are gone");
    assert_eq!(r.server(), "pl");
}

#[tokio::test]
async fn a_slow_request_head_is_cut_off() {
    let sup = supervisor(None);
    apply(&sup, echo("pl", "pl"));
    let port = free_port();
    let mut fields = rules("/", "pl");
    fields["keepAliveTimeout"] = json!("300ms");
    start(&sup, server("hs", port, fields)).await;
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    s.write_all(b"GET /x HTTP/1.1\r\nHost: a\r\n")
        .await
        .unwrap();
    // The rest of the head never comes: the server answers 408 or closes, within bounds.
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out))
        .await
        .expect("the server gives up on an unfinished head")
        .ok();
    let text = String::from_utf8_lossy(&out);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 408"),
        "{text:?}"
    );
}

#[tokio::test]
async fn silent_tls_connections_are_closed() {
    let sup = supervisor(None);
    apply(&sup, echo("pl", "pl"));
    let port = free_port();
    let (cert, key) = tls::self_signed("localhost");
    let mut fields = rules("/", "pl");
    fields["https"] = json!(true);
    fields["certBase64"] = json!(cert);
    fields["keyBase64"] = json!(key);
    fields["keepAliveTimeout"] = json!("300ms");
    start(&sup, server("hs", port, fields)).await;
    let s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    closed_silently(s, Duration::from_secs(10)).await;
}

#[tokio::test]
async fn requests_need_one_valid_host() {
    let sup = supervisor(None);
    apply(&sup, echo("pl", "pl"));
    let port = free_port();
    start(&sup, server("hs", port, rules("/", "pl"))).await;
    let ok = raw_async(
        port,
        "GET /x HTTP/1.1\r\nHost: a.com\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(status_of(&ok), 200, "{ok}");
    for bad in [
        "GET /x HTTP/1.1\r\nConnection: close\r\n\r\n",
        "GET /x HTTP/1.1\r\nHost: a.com\r\nHost: b.com\r\nConnection: close\r\n\r\n",
        "GET /x HTTP/1.1\r\nHost:\r\nConnection: close\r\n\r\n",
        "GET /x HTTP/1.1\r\nHost: a.com:80x\r\nConnection: close\r\n\r\n",
        "GET /x HTTP/1.1\r\nHost: a@b.com\r\nConnection: close\r\n\r\n",
    ] {
        let r = raw_async(port, bad).await;
        assert_eq!(status_of(&r), 400, "{bad:?} -> {r}");
    }
    // HTTP/1.0 has no Host requirement.
    let r = raw_async(port, "GET /x HTTP/1.0\r\n\r\n").await;
    assert_eq!(status_of(&r), 200, "{r}");
}

#[tokio::test]
async fn absolute_form_requests_route_by_their_authority() {
    let sup = supervisor(None);
    apply(&sup, echo("pl-a", "a"));
    apply(&sup, echo("pl-b", "b"));
    let port = free_port();
    start(
        &sup,
        server(
            "hs",
            port,
            json!({"rules": [
                {"host": "a.com", "paths": [{"pathPrefix": "/", "backend": "pl-a"}]},
                {"host": "b.com", "paths": [{"pathPrefix": "/", "backend": "pl-b"}]},
            ]}),
        ),
    )
    .await;
    let r = raw_async(
        port,
        "GET http://b.com/x HTTP/1.1\r\nHost: a.com\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(status_of(&r), 200, "{r}");
    let body = &r[r.find("\r\n\r\n").unwrap() + 4..];
    let echo: Value = serde_json::from_str(body).unwrap();
    // Routing and the pipeline see the same host: the target's.
    assert_eq!(echo["server"], "b");
    assert_eq!(echo["headers"]["host"], "b.com");
}

#[tokio::test]
async fn a_stale_content_length_never_frames_the_answer() {
    let sup = supervisor(None);
    apply(
        &sup,
        json!({
            "name": "pl", "kind": "Pipeline",
            "flow": [{"filter": "mock"}],
            "filters": [{"name": "mock", "kind": "Mock", "rules": [{
                "match": {"pathPrefix": "/"}, "code": 200, "body": "hello",
                "headers": {"Content-Length": "1"},
            }]}],
        }),
    );
    let port = free_port();
    start(&sup, server("hs", port, rules("/", "pl"))).await;
    // Two requests on one connection: a desynchronised first answer would corrupt the
    // second one.
    let both = raw_async(
        port,
        "GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    )
    .await;
    let answers: Vec<&str> = both.split("HTTP/1.1 ").filter(|s| !s.is_empty()).collect();
    assert_eq!(answers.len(), 2, "{both:?}");
    for a in answers {
        assert!(a.starts_with("200"), "{a:?}");
        assert!(
            a.to_ascii_lowercase().contains("content-length: 5\r\n"),
            "{a:?}"
        );
        assert!(a.ends_with("\r\n\r\nhello"), "{a:?}");
    }
}

/// A client like a load generator: keep-alive connections, reconnecting when the server
/// says `Connection: close`; every failed request is counted.
async fn busy_client(
    port: u16,
    stop: Arc<tokio::sync::Notify>,
    ok: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
) {
    let stopped = stop.notified();
    tokio::pin!(stopped);
    let mut conn: Option<hyper::client::conn::http1::SendRequest<TestBody>> = None;
    loop {
        if conn.is_none() {
            let stream = match TcpStream::connect(("127.0.0.1", port)).await {
                Ok(s) => s,
                Err(_) => {
                    failed.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    continue;
                }
            };
            let (send, c) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .unwrap();
            tokio::spawn(c);
            conn = Some(send);
        }
        let Some(send) = conn.as_mut() else { continue };
        let req = http::Request::builder()
            .uri("/x")
            .header("host", "127.0.0.1")
            .body(TestBody::empty())
            .unwrap();
        let sent = tokio::select! {
            r = async { send.ready().await?; send.send_request(req).await } => r,
            _ = &mut stopped => return,
        };
        match sent {
            Ok(resp) => {
                let close = resp
                    .headers()
                    .get("connection")
                    .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"close"));
                let r = collect(resp).await;
                if r.status == 200 {
                    ok.fetch_add(1, Ordering::Relaxed);
                } else {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
                if close {
                    conn = None;
                }
            }
            Err(_) => {
                failed.fetch_add(1, Ordering::Relaxed);
                conn = None;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listener_restarts_under_load_lose_no_request() {
    let sup = supervisor(None);
    apply(&sup, echo("pl", "pl"));
    let port = free_port();
    start(&sup, server("hs", port, rules("/", "pl"))).await;
    let stop = Arc::new(tokio::sync::Notify::new());
    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let clients: Vec<_> = (0..8)
        .map(|_| tokio::spawn(busy_client(port, stop.clone(), ok.clone(), failed.clone())))
        .collect();
    // Restart the listener five times on the same port (keepAliveTimeout changes).
    for i in 0..5 {
        let before = ok.load(Ordering::Relaxed);
        let mut fields = rules("/", "pl");
        fields["keepAliveTimeout"] = json!(format!("{}s", 30 + i));
        start(&sup, server("hs", port, fields)).await;
        // Let traffic flow on the new listener before the next restart.
        for _ in 0..2000 {
            if ok.load(Ordering::Relaxed) > before + 200 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    stop.notify_waiters();
    for c in clients {
        let _ = c.await;
    }
    let (ok, failed) = (ok.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
    assert!(ok > 1000, "only {ok} requests went through");
    assert_eq!(
        failed,
        0,
        "{failed} of {} requests failed across restarts",
        ok + failed
    );
}
