//! HTTP/1.1 on the wire, as clients see it: pipelining, HTTP/1.0, `HEAD`, closing, bad
//! targets, and connections that move between the gate's own codec (requests without a
//! body) and hyper (requests with one) and back.

use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use super::*;

fn rules(path: &str, backend: &str) -> Value {
    json!({"rules": [{"paths": [{"pathPrefix": path, "backend": backend}]}]})
}

/// A server answering every path with the echo pipeline; it runs while the returned
/// supervisor lives.
async fn echo_server(fields: Value) -> (Supervisor, u16) {
    let sup = supervisor(None);
    apply(&sup, echo("pl", "pl"));
    let port = free_port();
    let mut all = rules("/", "pl");
    if let (Some(a), Some(f)) = (all.as_object_mut(), fields.as_object()) {
        a.extend(f.clone());
    }
    start(&sup, server("hs", port, all)).await;
    (sup, port)
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

async fn read_answer(r: &mut BufReader<TcpStream>, to_head: bool) -> Answer {
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

async fn connect(port: u16) -> BufReader<TcpStream> {
    BufReader::new(TcpStream::connect(("127.0.0.1", port)).await.unwrap())
}

/// Whether the server closed the connection (EOF within a few seconds).
async fn closed(r: &mut BufReader<TcpStream>) -> bool {
    let mut rest = Vec::new();
    matches!(
        tokio::time::timeout(Duration::from_secs(5), r.read_to_end(&mut rest)).await,
        Ok(Ok(0))
    )
}

#[tokio::test]
async fn pipelined_requests_are_answered_in_order() {
    let (_sup, port) = echo_server(json!({})).await;
    let mut c = connect(port).await;
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

async fn read_answer_after(c: &mut BufReader<TcpStream>, request: &[u8]) -> Answer {
    c.get_mut().write_all(request).await.unwrap();
    read_answer(c, false).await
}

#[tokio::test]
async fn http_1_0_is_answered_in_1_0_and_closed_unless_kept_alive() {
    let (_sup, port) = echo_server(json!({})).await;
    let mut c = connect(port).await;
    let a = read_answer_after(&mut c, b"GET /a HTTP/1.0\r\nHost: a\r\n\r\n").await;
    assert_eq!(a.status_line, "HTTP/1.0 200 OK");
    assert_eq!(a.header("connection"), None);
    assert!(closed(&mut c).await);

    let mut c = connect(port).await;
    for path in ["/b", "/c"] {
        let req = format!("GET {path} HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\n");
        let a = read_answer_after(&mut c, req.as_bytes()).await;
        assert_eq!(a.status_line, "HTTP/1.0 200 OK");
        assert_eq!(a.header("connection"), Some("keep-alive"));
        assert_eq!(a.json()["path"], path);
    }
}

#[tokio::test]
async fn connection_close_is_honoured_and_said() {
    let (_sup, port) = echo_server(json!({})).await;
    let mut c = connect(port).await;
    let a = read_answer_after(
        &mut c,
        b"GET /a HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(a.header("connection"), Some("close"));
    assert_eq!(a.json()["path"], "/a");
    assert!(closed(&mut c).await);

    // keepAlive: false closes every connection after its answer.
    let (_sup2, port) = echo_server(json!({"keepAlive": false})).await;
    let mut c = connect(port).await;
    let a = read_answer_after(&mut c, b"GET /b HTTP/1.1\r\nHost: a\r\n\r\n").await;
    assert_eq!(a.header("connection"), Some("close"));
    assert!(closed(&mut c).await);
}

#[tokio::test]
async fn head_answers_have_the_length_and_no_body() {
    let (_sup, port) = echo_server(json!({})).await;
    let mut c = connect(port).await;
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

#[tokio::test]
async fn a_target_that_is_no_uri_gets_400_and_the_connection_closes() {
    let (_sup, port) = echo_server(json!({})).await;
    let mut c = connect(port).await;
    let a = read_answer_after(&mut c, b"GET /a<b> HTTP/1.1\r\nHost: a\r\n\r\n").await;
    assert_eq!(a.status_line, "HTTP/1.1 400 Bad Request");
    assert_eq!(a.header("connection"), Some("close"));
    assert!(closed(&mut c).await);
    // A head httparse refuses is hyper's to answer, also 400.
    let mut c = connect(port).await;
    let a = read_answer_after(&mut c, b"GET / HTTP/1.1\r\nBad Name: 1\r\n\r\n").await;
    assert_eq!(a.status_line, "HTTP/1.1 400 Bad Request");
}

#[tokio::test]
async fn a_connection_moves_to_hyper_for_a_body_and_back() {
    let (_sup, port) = echo_server(json!({})).await;
    let mut c = connect(port).await;
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

#[tokio::test]
async fn a_head_split_across_writes_is_put_together() {
    let (_sup, port) = echo_server(json!({})).await;
    let mut c = connect(port).await;
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

#[tokio::test]
async fn a_long_head_is_served_by_hyper() {
    let (_sup, port) = echo_server(json!({})).await;
    let mut c = connect(port).await;
    let big = "c".repeat(12 * 1024);
    let req = format!("GET /big HTTP/1.1\r\nHost: a\r\nCookie: {big}\r\n\r\n");
    let a = read_answer_after(&mut c, req.as_bytes()).await;
    assert_eq!(a.json()["path"], "/big");
    assert_eq!(
        a.json()["headers"]["cookie"].as_str().map(str::len),
        Some(big.len())
    );
}

#[tokio::test]
async fn a_client_that_hangs_up_cancels_its_upstream_request() {
    // An upstream that reads a request, never answers, and reports when the proxy closes
    // its connection.
    let upstream = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream_port = upstream.local_addr().unwrap().port();
    let (got_request, request_seen) = tokio::sync::oneshot::channel();
    let (got_close, close_seen) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let (mut s, _) = upstream.accept().await.unwrap();
        let mut head = Vec::new();
        let mut buf = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = s.read(&mut buf).await.unwrap();
            assert!(n > 0, "the proxy closed before sending a whole request");
            head.extend_from_slice(&buf[..n]);
        }
        let _ = got_request.send(());
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
    let port = free_port();
    start(&sup, server("hs", port, rules("/", "slow"))).await;

    let mut c = connect(port).await;
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
