//! HTTP/1.1 on the wire, as clients see it: pipelining, HTTP/1.0, `HEAD`, closing, bad
//! targets, and connections that move between the gate's own codec (requests without a
//! body) and hyper (requests with one) and back. Every scenario runs twice: over plain TCP
//! and over TLS (HTTP/1.1 negotiated), which the same codec serves.

use rustls::pki_types::CertificateDer;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use super::*;

/// How a test's client reaches the server.
#[derive(Debug, Clone, Copy)]
enum Wire {
    Plain,
    Tls,
}

/// Runs each named scenario (an `async fn(Wire)` of this module) as two tests: `plain::name`
/// and `over_tls::name`.
macro_rules! over_both_wires {
    ($($name:ident),* $(,)?) => {
        mod plain {
            $(#[tokio::test]
            async fn $name() {
                super::$name(super::Wire::Plain).await
            })*
        }
        mod over_tls {
            $(#[tokio::test]
            async fn $name() {
                super::$name(super::Wire::Tls).await
            })*
        }
    };
}

over_both_wires!(
    pipelined_requests_are_answered_in_order,
    http_1_0_is_answered_in_1_0_and_closed_unless_kept_alive,
    connection_close_is_honoured_and_said,
    head_answers_have_the_length_and_no_body,
    a_target_that_is_no_uri_gets_400_and_the_connection_closes,
    a_connection_moves_to_hyper_for_a_body_and_back,
    a_head_split_across_writes_is_put_together,
    a_long_head_is_served_by_hyper,
    a_client_that_hangs_up_cancels_its_upstream_request,
    requests_over_tls_are_marked_as_such,
    a_connection_that_sends_nothing_is_let_go,
    a_head_trickling_in_is_cut_off,
);

fn rules(path: &str, backend: &str) -> Value {
    json!({"rules": [{"paths": [{"pathPrefix": path, "backend": backend}]}]})
}

/// A client's byte stream, plain or TLS.
trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

type Client = BufReader<Box<dyn Stream>>;

/// A running server and how to reach it.
struct Target {
    _sup: Supervisor,
    port: u16,
    /// The server's self-signed certificate, for a TLS client to trust.
    root: Option<CertificateDer<'static>>,
}

impl Target {
    async fn connect(&self) -> Client {
        match &self.root {
            Some(root) => BufReader::new(Box::new(tls_http1(self.port, root.clone()).await)),
            None => BufReader::new(Box::new(
                TcpStream::connect(("127.0.0.1", self.port)).await.unwrap(),
            )),
        }
    }
}

/// Starts HTTPServer `hs` with `fields` on `sup`, speaking TLS when `wire` says so.
async fn serve(sup: Supervisor, wire: Wire, mut fields: Value) -> Target {
    let port = free_port();
    let mut root = None;
    if let (Wire::Tls, Some(f)) = (wire, fields.as_object_mut()) {
        let cert = eg_testkit::self_signed(&["localhost"]);
        let b64 = |s: &str| {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD.encode(s)
        };
        f.insert("https".into(), json!(true));
        f.insert("certBase64".into(), json!(b64(&cert.cert_pem)));
        f.insert("keyBase64".into(), json!(b64(&cert.key_pem)));
        root = Some(cert.cert_der);
    }
    start(&sup, server("hs", port, fields)).await;
    Target {
        _sup: sup,
        port,
        root,
    }
}

/// A server answering every path with the echo pipeline; it runs while the returned
/// target lives.
async fn echo_server(wire: Wire, fields: Value) -> Target {
    let sup = supervisor(None);
    apply(&sup, echo("pl", "pl"));
    let mut all = rules("/", "pl");
    if let (Some(a), Some(f)) = (all.as_object_mut(), fields.as_object()) {
        a.extend(f.clone());
    }
    serve(sup, wire, all).await
}

/// One answer read off a kept-alive connection: the head's lines (lower-cased names) and
/// the body, framed by `Content-Length` or chunked; `to_head`: no body follows.
struct Answer {
    status_line: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

async fn read_answer(r: &mut Client, to_head: bool) -> Answer {
    let mut status_line = String::new();
    r.read_line(&mut status_line).await.unwrap();
    assert!(status_line.starts_with("HTTP/1."), "{status_line:?}");
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        r.read_line(&mut line).await.unwrap();
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (n, v) = line.split_once(':').unwrap();
        headers.push((n.to_ascii_lowercase(), v.trim().to_string()));
    }
    let mut a = Answer {
        status_line: status_line.trim_end().to_string(),
        headers,
        body: Vec::new(),
    };
    if to_head {
        return a;
    }
    if let Some(n) = a.header("content-length") {
        let mut body = vec![0; n.parse().unwrap()];
        r.read_exact(&mut body).await.unwrap();
        a.body = body;
    } else if a.header("transfer-encoding") == Some("chunked") {
        loop {
            let mut size = String::new();
            r.read_line(&mut size).await.unwrap();
            let n = usize::from_str_radix(size.trim_end(), 16).unwrap();
            let mut chunk = vec![0; n + 2];
            r.read_exact(&mut chunk).await.unwrap();
            if n == 0 {
                break;
            }
            a.body.extend_from_slice(&chunk[..n]);
        }
    }
    a
}

/// Whether the server closed the connection (the end of the stream within a few seconds;
/// over TLS, after its `close_notify`).
async fn closed(r: &mut Client) -> bool {
    let mut rest = Vec::new();
    matches!(
        tokio::time::timeout(Duration::from_secs(5), r.read_to_end(&mut rest)).await,
        Ok(Ok(0))
    )
}

/// Whether the server let the connection go within `within`: the end of the stream, or
/// over TLS also a close without `close_notify` (what a deadline does), or a reset.
async fn let_go(r: &mut Client, within: Duration) -> bool {
    let mut rest = Vec::new();
    match tokio::time::timeout(within, r.read_to_end(&mut rest)).await {
        Ok(Ok(_)) => true,
        Ok(Err(e)) => matches!(
            e.kind(),
            std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset
        ),
        Err(_) => false,
    }
}

/// Reads off `r` until a whole head has come (its blank line), and returns every byte
/// read, which may run past the head; panics, naming `peer`, if `r` ends first.
async fn read_head(r: &mut (impl AsyncRead + Unpin), peer: &str) -> Vec<u8> {
    let mut got = Vec::new();
    let mut chunk = [0u8; 4096];
    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = r.read(&mut chunk).await.unwrap();
        assert!(n > 0, "{peer} closed before sending a whole head");
        got.extend_from_slice(&chunk[..n]);
    }
    got
}

async fn read_answer_after(c: &mut Client, request: &[u8]) -> Answer {
    c.get_mut().write_all(request).await.unwrap();
    read_answer(c, false).await
}

async fn pipelined_requests_are_answered_in_order(wire: Wire) {
    let t = echo_server(wire, json!({})).await;
    let mut c = t.connect().await;
    c.get_mut()
        .write_all(
            b"GET /one HTTP/1.1\r\nHost: a\r\n\r\nGET /two?x=1 HTTP/1.1\r\nHost: a\r\n\r\nDELETE /three HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
        )
        .await
        .unwrap();
    for (path, method) in [("/one", "GET"), ("/two", "GET"), ("/three", "DELETE")] {
        let a = read_answer(&mut c, false).await;
        assert_eq!(a.status_line, "HTTP/1.1 200 OK");
        assert_eq!(a.json()["path"], path);
        assert_eq!(a.json()["method"], method);
        assert!(a.header("date").is_some());
        assert_eq!(a.header("content-type"), Some("application/json"));
    }
    assert_eq!(
        read_answer_after(&mut c, b"GET /four HTTP/1.1\r\nHost: a\r\n\r\n")
            .await
            .json()["path"],
        "/four"
    );
}

async fn http_1_0_is_answered_in_1_0_and_closed_unless_kept_alive(wire: Wire) {
    let t = echo_server(wire, json!({})).await;
    let mut c = t.connect().await;
    let a = read_answer_after(&mut c, b"GET /a HTTP/1.0\r\nHost: a\r\n\r\n").await;
    assert_eq!(a.status_line, "HTTP/1.0 200 OK");
    assert_eq!(a.header("connection"), None);
    assert!(closed(&mut c).await);

    let mut c = t.connect().await;
    for path in ["/b", "/c"] {
        let req = format!("GET {path} HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\n");
        let a = read_answer_after(&mut c, req.as_bytes()).await;
        assert_eq!(a.status_line, "HTTP/1.0 200 OK");
        assert_eq!(a.header("connection"), Some("keep-alive"));
        assert_eq!(a.json()["path"], path);
    }
}

async fn connection_close_is_honoured_and_said(wire: Wire) {
    let t = echo_server(wire, json!({})).await;
    let mut c = t.connect().await;
    let a = read_answer_after(
        &mut c,
        b"GET /a HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(a.header("connection"), Some("close"));
    assert_eq!(a.json()["path"], "/a");
    assert!(closed(&mut c).await);

    // keepAlive: false closes every connection after its answer.
    let t = echo_server(wire, json!({"keepAlive": false})).await;
    let mut c = t.connect().await;
    let a = read_answer_after(&mut c, b"GET /b HTTP/1.1\r\nHost: a\r\n\r\n").await;
    assert_eq!(a.header("connection"), Some("close"));
    assert!(closed(&mut c).await);
}

async fn head_answers_have_the_length_and_no_body(wire: Wire) {
    let t = echo_server(wire, json!({})).await;
    let mut c = t.connect().await;
    c.get_mut()
        .write_all(b"HEAD /a HTTP/1.1\r\nHost: a\r\n\r\n")
        .await
        .unwrap();
    let a = read_answer(&mut c, true).await;
    assert_eq!(a.status_line, "HTTP/1.1 200 OK");
    let len: usize = a.header("content-length").unwrap().parse().unwrap();
    assert!(len > 0);
    // The next answer starts right after the head: no body bytes came between.
    let b = read_answer_after(&mut c, b"GET /b HTTP/1.1\r\nHost: a\r\n\r\n").await;
    assert_eq!(b.json()["path"], "/b");
}

async fn a_target_that_is_no_uri_gets_400_and_the_connection_closes(wire: Wire) {
    let t = echo_server(wire, json!({})).await;
    let mut c = t.connect().await;
    let a = read_answer_after(&mut c, b"GET /a<b> HTTP/1.1\r\nHost: a\r\n\r\n").await;
    assert_eq!(a.status_line, "HTTP/1.1 400 Bad Request");
    assert_eq!(a.header("connection"), Some("close"));
    assert!(closed(&mut c).await);
    // A head httparse refuses is hyper's to answer, also 400.
    let mut c = t.connect().await;
    let a = read_answer_after(&mut c, b"GET / HTTP/1.1\r\nBad Name: 1\r\n\r\n").await;
    assert_eq!(a.status_line, "HTTP/1.1 400 Bad Request");
}

async fn a_connection_moves_to_hyper_for_a_body_and_back(wire: Wire) {
    let t = echo_server(wire, json!({})).await;
    let mut c = t.connect().await;
    let a = read_answer_after(&mut c, b"GET /first HTTP/1.1\r\nHost: a\r\n\r\n").await;
    assert_eq!(a.json()["path"], "/first");
    // A body: hyper reads it; a bodiless request pipelined behind it is answered too.
    let a = read_answer_after(
        &mut c,
        b"POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhelloGET /after HTTP/1.1\r\nHost: a\r\n\r\n",
    )
    .await;
    assert_eq!(a.json()["path"], "/up");
    assert_eq!(a.json()["body"], "hello");
    let a = read_answer(&mut c, false).await;
    assert_eq!(a.json()["path"], "/after");
    // A chunked body, then, once hyper has let the idle connection go, bodiless requests.
    let a = read_answer_after(
        &mut c,
        b"PUT /chunked HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    )
    .await;
    assert_eq!(a.json()["body"], "abc");
    tokio::time::sleep(Duration::from_millis(100)).await;
    for path in ["/back", "/again"] {
        let req = format!("GET {path} HTTP/1.1\r\nHost: a\r\n\r\n");
        let a = read_answer_after(&mut c, req.as_bytes()).await;
        assert_eq!(a.json()["path"], path);
    }
}

async fn a_head_split_across_writes_is_put_together(wire: Wire) {
    let t = echo_server(wire, json!({})).await;
    let mut c = t.connect().await;
    for part in [
        &b"GET /sl"[..],
        b"ow HTTP/1.1\r\nHo",
        b"st: a\r\nX-Y: z\r\n",
        b"\r\n",
    ] {
        c.get_mut().write_all(part).await.unwrap();
        c.get_mut().flush().await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let a = read_answer(&mut c, false).await;
    assert_eq!(a.json()["path"], "/slow");
    assert_eq!(a.json()["headers"]["x-y"], "z");
}

async fn a_long_head_is_served_by_hyper(wire: Wire) {
    let t = echo_server(wire, json!({})).await;
    let mut c = t.connect().await;
    let big = "c".repeat(12 * 1024);
    let req = format!("GET /big HTTP/1.1\r\nHost: a\r\nCookie: {big}\r\n\r\n");
    let a = read_answer_after(&mut c, req.as_bytes()).await;
    assert_eq!(a.json()["path"], "/big");
    assert_eq!(
        a.json()["headers"]["cookie"].as_str().map(str::len),
        Some(big.len())
    );
}

async fn a_client_that_hangs_up_cancels_its_upstream_request(wire: Wire) {
    // An upstream that reads a request, never answers, and reports when the proxy closes
    // its connection.
    let upstream = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream_port = upstream.local_addr().unwrap().port();
    let (got_request, request_seen) = tokio::sync::oneshot::channel();
    let (got_close, close_seen) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let (mut s, _) = upstream.accept().await.unwrap();
        read_head(&mut s, "the proxy").await;
        let _ = got_request.send(());
        let mut buf = [0u8; 1024];
        while s.read(&mut buf).await.is_ok_and(|n| n > 0) {}
        let _ = got_close.send(());
    });
    let sup = supervisor(None);
    apply(
        &sup,
        json!({
            "name": "slow", "kind": "Pipeline",
            "flow": [{"filter": "proxy"}],
            "filters": [{"name": "proxy", "kind": "Proxy",
                "pools": [{"servers": [{"url": format!("http://127.0.0.1:{upstream_port}")}]}]}],
        }),
    );
    let t = serve(sup, wire, rules("/", "slow")).await;

    let mut c = t.connect().await;
    c.get_mut()
        .write_all(b"GET /wait HTTP/1.1\r\nHost: a\r\n\r\n")
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(10), request_seen)
        .await
        .expect("the upstream got the request")
        .unwrap();
    drop(c);
    tokio::time::timeout(Duration::from_secs(10), close_seen)
        .await
        .expect("the upstream request was let go once the client hung up")
        .unwrap();
}

/// A request knows whether it came over TLS, whether the codec read it or hyper did (a
/// body), on the same connection.
async fn requests_over_tls_are_marked_as_such(wire: Wire) {
    let t = echo_server(wire, json!({})).await;
    let mut c = t.connect().await;
    let over_tls = matches!(wire, Wire::Tls);
    let a = read_answer_after(&mut c, b"GET /codec HTTP/1.1\r\nHost: a\r\n\r\n").await;
    assert_eq!(a.json()["overTls"], over_tls);
    let a = read_answer_after(
        &mut c,
        b"POST /hyper HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi",
    )
    .await;
    assert_eq!(
        (a.json()["body"].as_str(), a.json()["overTls"].as_bool()),
        (Some("hi"), Some(over_tls))
    );
}

/// A connection (over TLS: its handshake done) that never sends a request is closed once
/// `keepAliveTimeout` has passed, not before.
async fn a_connection_that_sends_nothing_is_let_go(wire: Wire) {
    let t = echo_server(wire, json!({"keepAliveTimeout": "300ms"})).await;
    let began = std::time::Instant::now();
    let mut c = t.connect().await;
    assert!(let_go(&mut c, Duration::from_secs(10)).await);
    assert!(
        began.elapsed() >= Duration::from_millis(300),
        "{:?}",
        began.elapsed()
    );
}

/// A head that trickles in a byte at a time is bounded by `keepAliveTimeout` as a whole,
/// whatever the pace of its bytes: the connection is let go unanswered.
async fn a_head_trickling_in_is_cut_off(wire: Wire) {
    let t = echo_server(wire, json!({"keepAliveTimeout": "300ms"})).await;
    let mut c = t.connect().await;
    let began = std::time::Instant::now();
    let head = b"GET /slow HTTP/1.1\r\nHost: a\r\nX-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    for b in head {
        let sent = async {
            c.get_mut().write_all(&[*b]).await?;
            c.get_mut().flush().await
        };
        if sent.await.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        if began.elapsed() > Duration::from_secs(10) {
            break;
        }
    }
    let mut rest = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), c.read_to_end(&mut rest)).await;
    let text = String::from_utf8_lossy(&rest);
    assert!(!text.contains("200 OK"), "{text:?}");
    // Cut off well before the head's 4 s at this pace.
    assert!(
        began.elapsed() < Duration::from_secs(4),
        "{:?}",
        began.elapsed()
    );
}

/// A TLS record that does not decrypt ends the connection, and the client is told why by
/// the alert rustls queued (the codec sends it before closing).
#[tokio::test]
async fn a_forged_record_over_tls_is_refused_with_an_alert() {
    let t = echo_server(Wire::Tls, json!({})).await;
    let mut tls = tls_http1(t.port, t.root.clone().expect("a TLS server")).await;
    tls.write_all(b"GET /first HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n\r\n")
        .await
        .unwrap();
    let a = String::from_utf8_lossy(&read_head(&mut tls, "the server").await).into_owned();
    assert!(a.starts_with("HTTP/1.1 200"), "{a}");
    // Application data that was never encrypted with this connection's keys, written
    // under the client's TLS layer.
    let mut forged = vec![0x17, 0x03, 0x03, 0x00, 0x20];
    forged.extend([0x5a; 32]);
    tls.get_mut().0.write_all(&forged).await.unwrap();
    let mut rest = Vec::new();
    let e = tokio::time::timeout(Duration::from_secs(10), tls.read_to_end(&mut rest))
        .await
        .expect("the connection is closed")
        .expect_err("a fatal alert");
    assert!(e.to_string().contains("BadRecordMac"), "{e}");
}
