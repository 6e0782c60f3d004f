//! Messages through the gateway: text, binary, large, fragmented, ping/pong, close codes,
//! limits, many sockets, headers and subprotocols.

use bytes::Bytes;
use futures_util::SinkExt;
use serde_json::json;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

use super::*;

fn close_code(m: &Message) -> Option<u16> {
    match m {
        Message::Close(Some(f)) => Some(u16::from(f.code)),
        _ => None,
    }
}

#[tokio::test]
async fn text_and_binary_are_echoed_and_headers_are_forwarded() {
    let echo = WsEcho::start().await;
    let gw = Gateway::start(spec(&[&echo.url()], json!({}))).await;
    let (mut c, resp) = connect(
        &gw.url("/chat?room=1"),
        &[
            ("x-custom", "kept"),
            ("x-forwarded-for", "10.0.0.1"),
            ("sec-websocket-extensions", "permessage-deflate"),
            ("sec-websocket-protocol", "chat, superchat"),
        ],
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 101);
    assert_eq!(resp.headers()["sec-websocket-protocol"], "chat");
    // No extension is negotiated: frames pass through unchanged.
    assert!(!resp.headers().contains_key("sec-websocket-extensions"));
    c.send(Message::text("hello")).await.unwrap();
    assert_eq!(next(&mut c).await, Message::text("hello"));
    c.send(Message::binary(vec![0u8, 1, 2, 255])).await.unwrap();
    assert_eq!(next(&mut c).await, Message::binary(vec![0u8, 1, 2, 255]));

    let seen = echo.state.last_headers.lock().clone().unwrap();
    assert_eq!(seen["x-custom"], "kept");
    assert_eq!(seen["x-forwarded-for"], "10.0.0.1, 127.0.0.1");
    assert_eq!(seen["x-forwarded-host"], gw.addr.to_string());
    assert_eq!(seen["x-forwarded-proto"], "http");
    assert_eq!(seen["sec-websocket-protocol"], "chat, superchat");
    assert!(!seen.contains_key("sec-websocket-extensions"));
    // An IP-literal server gets the client's Host, as in Easegress.
    assert_eq!(seen["host"], gw.addr.to_string());
}

#[tokio::test]
async fn a_mebibyte_passes_with_limits_off() {
    let echo = WsEcho::start().await;
    let gw = Gateway::start(spec(
        &[&echo.url()],
        json!({"clientMaxMsgSize": -1, "serverMaxMsgSize": -1}),
    ))
    .await;
    let (mut c, _) = connect(&gw.url("/"), &[]).await.unwrap();
    let big: Vec<u8> = (0..(1 << 20)).map(|i| (i % 251) as u8).collect();
    c.send(Message::binary(big.clone())).await.unwrap();
    assert_eq!(next(&mut c).await, Message::binary(big));
}

#[tokio::test]
async fn an_oversized_client_message_closes_with_1009() {
    let echo = WsEcho::start().await;
    let gw = Gateway::start(spec(&[&echo.url()], json!({}))).await;
    let (mut c, _) = connect(&gw.url("/"), &[]).await.unwrap();
    // At the default limit exactly: relayed.
    c.send(Message::binary(vec![7u8; 32768])).await.unwrap();
    assert_eq!(next(&mut c).await, Message::binary(vec![7u8; 32768]));
    c.send(Message::binary(vec![7u8; 32769])).await.unwrap();
    let m = next(&mut c).await;
    assert_eq!(close_code(&m), Some(1009), "{m:?}");
    // The upstream is told the client went away.
    until("the upstream to see 1001", || async {
        echo.state.close_codes.lock().contains(&1001).then_some(())
    })
    .await;
}

#[tokio::test]
async fn an_oversized_upstream_message_closes_the_client_with_1011() {
    let echo = WsEcho::start().await;
    let gw = Gateway::start(spec(
        &[&echo.url()],
        json!({"clientMaxMsgSize": -1, "serverMaxMsgSize": 1024}),
    ))
    .await;
    let (mut c, _) = connect(&gw.url("/"), &[]).await.unwrap();
    c.send(Message::binary(vec![1u8; 2048])).await.unwrap();
    let m = next(&mut c).await;
    assert_eq!(close_code(&m), Some(1011), "{m:?}");
    until("the upstream to see 1009", || async {
        echo.state.close_codes.lock().contains(&1009).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_reserved_bit_without_extension_closes_with_1002() {
    let echo = WsEcho::start().await;
    let gw = Gateway::start(spec(&[&echo.url()], json!({}))).await;
    let (mut c, _) = connect(&gw.url("/"), &[]).await.unwrap();
    let mut frame = Frame::message(
        Bytes::from_static(b"deflated?"),
        OpCode::Data(Data::Text),
        true,
    );
    frame.header_mut().rsv1 = true;
    c.send(Message::Frame(frame)).await.unwrap();
    let m = next(&mut c).await;
    assert_eq!(close_code(&m), Some(1002), "{m:?}");
    until("the upstream to see 1001", || async {
        echo.state.close_codes.lock().contains(&1001).then_some(())
    })
    .await;
}

#[tokio::test]
async fn fragmented_messages_are_joined_and_relayed() {
    let echo = WsEcho::start().await;
    let gw = Gateway::start(spec(&[&echo.url()], json!({}))).await;
    let (mut c, _) = connect(&gw.url("/"), &[]).await.unwrap();
    let parts: [(&[u8], OpCode, bool); 3] = [
        (b"frag", OpCode::Data(Data::Text), false),
        (b"men", OpCode::Data(Data::Continue), false),
        (b"ted", OpCode::Data(Data::Continue), true),
    ];
    for (data, op, fin) in parts {
        let frame = Frame::message(Bytes::from_static(data), op, fin);
        c.send(Message::Frame(frame)).await.unwrap();
    }
    assert_eq!(next(&mut c).await, Message::text("fragmented"));
}

#[tokio::test]
async fn pings_are_answered_both_ways() {
    let echo = WsEcho::start().await;
    let gw = Gateway::start(spec(&[&echo.url()], json!({}))).await;
    let (mut c, _) = connect(&gw.url("/"), &[]).await.unwrap();
    c.send(Message::Ping(Bytes::from_static(b"cli")))
        .await
        .unwrap();
    assert_eq!(
        next(&mut c).await,
        Message::Pong(Bytes::from_static(b"cli"))
    );
    c.send(Message::text("send-ping")).await.unwrap();
    assert_eq!(
        next(&mut c).await,
        Message::Ping(Bytes::from_static(b"srv"))
    );
}

#[tokio::test]
async fn close_codes_are_relayed_both_ways() {
    let echo = WsEcho::start().await;
    let gw = Gateway::start(spec(&[&echo.url()], json!({}))).await;
    let (mut c, _) = connect(&gw.url("/"), &[]).await.unwrap();
    c.send(Message::text("close-4001")).await.unwrap();
    match next(&mut c).await {
        Message::Close(Some(f)) => {
            assert_eq!(u16::from(f.code), 4001);
            assert_eq!(f.reason.as_str(), "bye");
        }
        m => panic!("expected a close frame, got {m:?}"),
    }
    finish(c).await;

    let (mut c, _) = connect(&gw.url("/"), &[]).await.unwrap();
    c.send(Message::Close(Some(CloseFrame {
        code: CloseCode::from(4002),
        reason: "done".into(),
    })))
    .await
    .unwrap();
    assert_eq!(close_code(&next(&mut c).await), Some(4002));
    finish(c).await;
    until("the upstream to see 4002", || async {
        echo.state.close_codes.lock().contains(&4002).then_some(())
    })
    .await;
    until("both sessions to end", || async {
        (gw.status()["mainPool"]["closedSessions"] == 2).then_some(())
    })
    .await;
    let st = gw.status();
    assert_eq!(st["mainPool"]["codes"]["101"], 2, "{st}");
    assert_eq!(st["mainPool"]["clientMessages"], 1, "{st}");
}

#[tokio::test]
async fn a_thousand_sockets_at_once() {
    const N: usize = 1000;
    let echo = WsEcho::start().await;
    let gw = Gateway::start(spec(&[&echo.url()], json!({}))).await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..N {
        let url = gw.url("/");
        tasks.spawn(async move {
            let (mut c, _) = connect(&url, &[]).await.unwrap();
            let text = format!("socket {i}");
            c.send(Message::text(text.clone())).await.unwrap();
            assert_eq!(next(&mut c).await, Message::text(text));
            c
        });
    }
    let mut open = Vec::with_capacity(N);
    while let Some(r) = tasks.join_next().await {
        open.push(r.unwrap());
    }
    assert_eq!(open.len(), N);
    assert_eq!(gw.status()["mainPool"]["openSessions"], N);
    assert_eq!(
        echo.state
            .sessions
            .load(std::sync::atomic::Ordering::SeqCst),
        N
    );
}
