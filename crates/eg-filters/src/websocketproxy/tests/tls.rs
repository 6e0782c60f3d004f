//! `wss://` servers with a generated certificate.

use futures_util::SinkExt;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use super::*;

#[tokio::test]
async fn a_wss_upstream_is_relayed_when_verification_is_skipped() {
    let cert = eg_testkit::self_signed(&["localhost"]);
    let echo = WsEcho::start_tls(&cert).await;
    let gw = Gateway::start(spec(&[&echo.url()], json!({"insecureSkipVerify": true}))).await;
    let (mut c, _) = connect(&gw.url("/secure"), &[]).await.unwrap();
    c.send(Message::text("over tls")).await.unwrap();
    assert_eq!(next(&mut c).await, Message::text("over tls"));
    // A hostname server gets its own Host.
    let seen = echo.state.last_headers.lock().clone().unwrap();
    assert_eq!(seen["host"], format!("localhost:{}", echo.addr.port()));
}

#[tokio::test]
async fn an_untrusted_wss_upstream_is_refused() {
    let cert = eg_testkit::self_signed(&["localhost"]);
    let echo = WsEcho::start_tls(&cert).await;
    let gw = Gateway::start(spec(&[&echo.url()], json!({}))).await;
    assert_eq!(handshake_status(&gw.url("/"), &[]).await, 503);
    assert_eq!(
        echo.state
            .sessions
            .load(std::sync::atomic::Ordering::SeqCst),
        0
    );
}

#[tokio::test]
async fn wss_health_probes_use_tls() {
    let cert = eg_testkit::self_signed(&["localhost"]);
    let echo = WsEcho::start_tls(&cert).await;
    let gw = Gateway::start(spec(
        &[&echo.url()],
        json!({"insecureSkipVerify": true,
            "healthCheck": {"interval": "100ms", "http": {"uri": "/health"}, "ws": {}}}),
    ))
    .await;
    // Healthy from the start and staying so: a handshake through it works after a few rounds.
    until("probes to have run", || async {
        (echo
            .state
            .sessions
            .load(std::sync::atomic::Ordering::SeqCst)
            >= 2)
            .then_some(())
    })
    .await;
    assert_eq!(gw.status()["mainPool"]["servers"][0]["healthy"], true);
    assert_eq!(handshake_status(&gw.url("/"), &[]).await, 101);
}
