//! Handshakes the gateway refuses or cannot serve, and the Origin check.

use eg_testkit::{raw_async, status_of};
use serde_json::json;

use super::*;

const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

async fn raw_status(gw: &Gateway, method: &str, headers: &[(&str, &str)]) -> String {
    let mut req = format!(
        "{method} /ws HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
        gw.addr
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    raw_async(gw.addr.port(), &req).await
}

#[tokio::test]
async fn bad_handshakes_get_nhooyrs_statuses() {
    let echo = WsEcho::start().await;
    let gw = Gateway::start(spec(&[&echo.url()], json!({}))).await;
    // A plain request: no upgrade asked (426, telling what would work).
    let a = raw_status(&gw, "GET", &[]).await;
    assert_eq!(status_of(&a), 426, "{a}");
    assert!(a.to_ascii_lowercase().contains("upgrade: websocket"), "{a}");
    // Connection lists upgrade but Upgrade is not websocket.
    let a = raw_status(&gw, "GET", &[("Upgrade", "h2c")]).await;
    assert_eq!(status_of(&a), 426, "{a}");
    let up = [
        ("Upgrade", "websocket"),
        ("Sec-WebSocket-Version", "13"),
        ("Sec-WebSocket-Key", KEY),
    ];
    let upgrade = |extra: &[(&'static str, &'static str)]| {
        let mut h = vec![("Connection", "Upgrade")];
        h.extend_from_slice(&up);
        h.extend_from_slice(extra);
        h
    };
    let a = raw_status(&gw, "POST", &upgrade(&[])).await;
    assert_eq!(status_of(&a), 405, "{a}");
    let mut h = upgrade(&[]);
    h[2].1 = "8";
    let a = raw_status(&gw, "GET", &h).await;
    assert_eq!(status_of(&a), 400, "{a}");
    assert!(
        a.to_ascii_lowercase().contains("sec-websocket-version: 13"),
        "{a}"
    );
    let mut h = upgrade(&[]);
    h[3].1 = "short";
    let a = raw_status(&gw, "GET", &h).await;
    assert_eq!(status_of(&a), 400, "{a}");
    assert_eq!(
        echo.state
            .sessions
            .load(std::sync::atomic::Ordering::SeqCst),
        0
    );
    assert_eq!(gw.status()["mainPool"]["errors"], 5);
}

#[tokio::test]
async fn an_upstream_refusing_the_upgrade_gives_503() {
    let echo = WsEcho::start().await;
    echo.state
        .refuse
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let gw = Gateway::start(spec(&[&echo.url()], json!({}))).await;
    assert_eq!(handshake_status(&gw.url("/"), &[]).await, 503);
    let closed = eg_testkit::closed_addr();
    let gw = Gateway::start(spec(&[&format!("ws://{closed}")], json!({}))).await;
    assert_eq!(handshake_status(&gw.url("/"), &[]).await, 503);
}

#[tokio::test]
async fn a_foreign_origin_is_refused_unless_a_pattern_allows_it() {
    let echo = WsEcho::start().await;
    let gw = Gateway::start(spec(
        &[&echo.url()],
        json!({"originPatterns": ["*.good.com"]}),
    ))
    .await;
    let same = format!("http://{}", gw.addr);
    assert_eq!(
        handshake_status(&gw.url("/"), &[("origin", &same)]).await,
        101
    );
    assert_eq!(
        handshake_status(&gw.url("/"), &[("origin", "https://app.good.com")]).await,
        101
    );
    assert_eq!(
        handshake_status(&gw.url("/"), &[("origin", "https://evil.com")]).await,
        403
    );
    assert_eq!(
        echo.state
            .sessions
            .load(std::sync::atomic::Ordering::SeqCst),
        2
    );

    // insecureSkipVerify turns the check off, as in Easegress.
    let gw = Gateway::start(spec(&[&echo.url()], json!({"insecureSkipVerify": true}))).await;
    assert_eq!(
        handshake_status(&gw.url("/"), &[("origin", "https://evil.com")]).await,
        101
    );
}

#[tokio::test]
async fn candidate_pools_take_matching_handshakes() {
    let main = WsEcho::start().await;
    let cand = WsEcho::start().await;
    let doc = json!({"pools": [
        {"servers": [{"url": main.url()}]},
        {"servers": [{"url": cand.url()}], "filter": {"headers": {"X-Canary": {"exact": "yes"}}}},
    ]});
    let gw = Gateway::start(doc).await;
    assert_eq!(
        handshake_status(&gw.url("/"), &[("x-canary", "yes")]).await,
        101
    );
    assert_eq!(handshake_status(&gw.url("/"), &[]).await, 101);
    assert_eq!(
        cand.state
            .sessions
            .load(std::sync::atomic::Ordering::SeqCst),
        1
    );
    assert_eq!(
        main.state
            .sessions
            .load(std::sync::atomic::Ordering::SeqCst),
        1
    );
    assert_eq!(gw.status()["candidatePools"][0]["codes"]["101"], 1);
}

#[tokio::test]
async fn a_proxy_answers_a_websocket_handshake_with_501() {
    let echo = WsEcho::start().await;
    let proxy = filter_of(
        &crate::proxy::KIND,
        json!({"pools": [{"servers": [{"url": format!("http://{}", echo.addr)}]}]}),
    );
    let gw = Gateway::with(proxy).await;
    let a = raw_status(
        &gw,
        "GET",
        &[
            ("Connection", "Upgrade"),
            ("Upgrade", "websocket"),
            ("Sec-WebSocket-Version", "13"),
            ("Sec-WebSocket-Key", KEY),
        ],
    )
    .await;
    assert_eq!(status_of(&a), 501, "{a}");
    assert!(a.contains("WebSocketProxy"), "{a}");
    assert_eq!(
        echo.state
            .sessions
            .load(std::sync::atomic::Ordering::SeqCst),
        0
    );
}
