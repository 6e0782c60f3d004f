//! Health checks of WebSocket pools: the `http` and `ws` probes, failover and recovery.

use std::sync::atomic::Ordering;

use futures_util::StreamExt;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use super::*;

fn healthy(gw: &Gateway, i: usize) -> bool {
    gw.status()["mainPool"]["servers"][i]["healthy"] == true
}

#[tokio::test]
async fn an_unhealthy_server_gets_no_handshakes() {
    let a = WsEcho::start().await;
    let b = WsEcho::start().await;
    a.state.refuse.store(true, Ordering::SeqCst);
    let gw = Gateway::start(spec(
        &[&a.url(), &b.url()],
        json!({"healthCheck": {"interval": "100ms", "ws": {"uri": "/ws"}}}),
    ))
    .await;
    until("server 0 to be marked unhealthy", || async {
        (!healthy(&gw, 0) && healthy(&gw, 1)).then_some(())
    })
    .await;
    for _ in 0..4 {
        assert_eq!(handshake_status(&gw.url("/"), &[]).await, 101);
    }
    // The probes go to /ws, the clients to /.
    let proxied = |e: &WsEcho| e.state.paths.lock().iter().filter(|p| *p == "/").count();
    assert_eq!(proxied(&b), 4);
    assert_eq!(proxied(&a), 0);
}

/// Easegress's `TestWebSocketHealthCheck`: an upstream that stops upgrading gives 503,
/// and 101 with its greeting again once it is back.
#[tokio::test]
async fn refusal_gives_503_and_recovery_101() {
    let echo = WsEcho::start().await;
    *echo.state.greeting.lock() = Some("hello from websocket".into());
    let gw = Gateway::start(spec(
        &[&echo.url()],
        json!({"healthCheck": {"interval": "200ms", "timeout": "200ms",
            "http": {"uri": "/health"}, "ws": {"uri": "/ws"}}}),
    ))
    .await;
    let hello = || async {
        let (mut c, resp) = connect(&gw.url("/"), &[]).await.ok()?;
        assert_eq!(resp.status(), 101);
        match c.next().await {
            Some(Ok(Message::Text(t))) => Some(t.to_string()),
            _ => None,
        }
    };
    assert_eq!(hello().await.as_deref(), Some("hello from websocket"));

    echo.state.refuse.store(true, Ordering::SeqCst);
    until(
        "the handshake to fail with 503 and the server to be unhealthy",
        || async {
            (handshake_status(&gw.url("/"), &[]).await == 503 && !healthy(&gw, 0)).then_some(())
        },
    )
    .await;

    echo.state.refuse.store(false, Ordering::SeqCst);
    until("the server to be healthy again", || async {
        healthy(&gw, 0).then_some(())
    })
    .await;
    assert_eq!(hello().await.as_deref(), Some("hello from websocket"));
}

#[tokio::test]
async fn a_failing_http_probe_takes_a_server_out_too() {
    let echo = WsEcho::start().await;
    let gw = Gateway::start(spec(
        &[&echo.url()],
        json!({"healthCheck": {"interval": "100ms", "http": {"uri": "/missing"}}}),
    ))
    .await;
    until("the server to be unhealthy", || async {
        (!healthy(&gw, 0)).then_some(())
    })
    .await;
    assert_eq!(handshake_status(&gw.url("/"), &[]).await, 503);
    assert_eq!(gw.status()["mainPool"]["codes"]["503"], 1);
}

#[tokio::test]
async fn ws_probe_match_rules_apply_to_the_101() {
    let echo = WsEcho::start().await;
    *echo.state.answer_header.lock() = Some(("x-status".into(), "healthy".into()));
    let spec_of = |value: &str| {
        spec(
            &[&echo.url()],
            json!({"healthCheck": {"interval": "100ms", "ws": {"headers": {"X-Probe": "1"},
                "match": {"headers": [{"name": "X-Status", "value": value, "type": "regexp"}]}}}}),
        )
    };
    let good = Gateway::start(spec_of("^heal")).await;
    let bad = Gateway::start(spec_of("^sick")).await;
    until("the bad match to take the server out", || async {
        (!healthy(&bad, 0)).then_some(())
    })
    .await;
    assert!(healthy(&good, 0));
    let seen = echo.state.last_headers.lock().clone().unwrap();
    assert_eq!(seen["x-probe"], "1");
}
