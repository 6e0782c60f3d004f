//! The hand-over of upgraded connections: a WebSocketProxy behind a real HTTPServer, its
//! 101 in the statistics and the access log, and plain requests on the same routes.

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

use eg_supervisor::Object;

use super::*;

fn ws_pipeline(upstream: &str) -> Value {
    json!({
        "name": "ws", "kind": "Pipeline",
        "flow": [{"filter": "wsproxy"}],
        "filters": [{"name": "wsproxy", "kind": "WebSocketProxy",
            "pools": [{"servers": [{"url": upstream}]}]}],
    })
}

async fn open(port: u16, path: &str) -> Result<u16, String> {
    let tcp = TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|e| e.to_string())?;
    let url = format!("ws://127.0.0.1:{port}{path}");
    match tokio_tungstenite::client_async(url, tcp).await {
        Ok((mut ws, resp)) => {
            ws.send(Message::text("through the server"))
                .await
                .map_err(|e| e.to_string())?;
            match ws.next().await {
                Some(Ok(Message::Text(t))) if t.as_str() == "through the server" => {}
                other => return Err(format!("no echo: {other:?}")),
            }
            let _ = ws.close(None).await;
            Ok(resp.status().as_u16())
        }
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => Ok(r.status().as_u16()),
        Err(e) => Err(e.to_string()),
    }
}

#[tokio::test]
async fn an_upgraded_connection_is_handed_to_the_websocket_proxy() {
    let echo = eg_testkit::WsEcho::start().await;
    let dir = tempfile::tempdir().unwrap();
    let sup = supervisor(Some(dir.path().to_path_buf()));
    apply(&sup, ws_pipeline(&echo.url()));
    let port = free_port();
    let s = start(
        &sup,
        server(
            "hs-ws",
            port,
            json!({
                "accessLogFormat": "{{Method}} {{URI}} {{StatusCode}}",
                "rules": [{"paths": [
                    {"path": "/ws", "clientMaxBodySize": -1, "backend": "ws"},
                    // Easegress's docs ask for -1, but a bodyless handshake passes any
                    // limit there too.
                    {"path": "/limited", "backend": "ws"},
                ]}],
            }),
        ),
    )
    .await;
    assert_eq!(open(port, "/ws").await, Ok(101));
    assert_eq!(open(port, "/limited").await, Ok(101));
    // A plain request to the same route is refused by the handshake check, not broken.
    let plain = get(port, "/ws").await;
    assert_eq!(plain.status, 426);
    assert_eq!(s.status()["codes"], json!({"101": 2, "426": 1}));

    let file = dir.path().join(crate::httpserver::ACCESS_LOG_FILE);
    let logged = poll_until(Duration::from_secs(10), || {
        std::fs::read_to_string(&file)
            .unwrap_or_default()
            .contains("GET /ws 101")
    })
    .await;
    assert!(
        logged,
        "{}",
        std::fs::read_to_string(&file).unwrap_or_default()
    );
}

/// `wss://` to an HTTPS listener: the handshake goes from the gate's HTTP/1.1 codec to
/// hyper on the same TLS stream, and the upgraded stream is relayed both ways.
#[tokio::test]
async fn a_websocket_over_an_https_listener_is_relayed() {
    use base64::Engine as _;
    let echo = eg_testkit::WsEcho::start().await;
    let sup = supervisor(None);
    apply(&sup, ws_pipeline(&echo.url()));
    let cert = eg_testkit::self_signed(&["localhost"]);
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let port = free_port();
    start(
        &sup,
        server(
            "hs-wss",
            port,
            json!({
                "https": true, "certBase64": b64(&cert.cert_pem), "keyBase64": b64(&cert.key_pem),
                "rules": [{"paths": [{"path": "/ws", "clientMaxBodySize": -1, "backend": "ws"}]}],
            }),
        ),
    )
    .await;
    let tls = tls_http1(port, cert.cert_der).await;
    let (mut ws, resp) = tokio_tungstenite::client_async(format!("wss://localhost:{port}/ws"), tls)
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 101);
    for text in ["one", "two"] {
        ws.send(Message::text(text)).await.unwrap();
        match ws.next().await {
            Some(Ok(Message::Text(t))) => assert_eq!(t.as_str(), text),
            other => panic!("no echo: {other:?}"),
        }
    }
    let _ = ws.close(None).await;
}

#[tokio::test]
async fn a_websocket_handshake_to_a_proxy_gets_501() {
    let echo = eg_testkit::WsEcho::start().await;
    let sup = supervisor(None);
    apply(
        &sup,
        json!({
            "name": "http", "kind": "Pipeline",
            "flow": [{"filter": "proxy"}],
            "filters": [{"name": "proxy", "kind": "Proxy",
                "pools": [{"servers": [{"url": format!("http://{}", echo.addr)}]}]}],
        }),
    );
    let port = free_port();
    start(
        &sup,
        server(
            "hs-proxy",
            port,
            json!({"rules": [{"paths": [{"pathPrefix": "/", "backend": "http"}]}]}),
        ),
    )
    .await;
    assert_eq!(open(port, "/chat").await, Ok(501));
    // Plain requests still go through.
    assert_eq!(get(port, "/health").await.status, 200);
}
