//! A forward proxy through the real server: an HTTPServer restricted by `ipFilter` routes
//! absolute-form requests and `CONNECT` tunnels to a pipeline with a `SimpleHTTPProxy`;
//! a `RequestBuilder` in front of one sends requests to the URL it builds.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use eg_testkit::{closed_addr, eventually, free_port, http, self_signed, Reply, Server, Upstream};

const BIN: &str = env!("CARGO_BIN_EXE_easegress-server");
const READ_TIMEOUT: Duration = Duration::from_secs(15);

/// The server and the address and port of its gateway.
struct Gateway {
    server: Server,
    addr: String,
    port: u16,
}

fn start(name: &str, upstream: &str) -> Gateway {
    let server = Server::start_new(BIN, name);
    let port = free_port();
    let pipelines = [
        "name: forward\nkind: Pipeline\nfilters:\n- name: proxy\n  kind: SimpleHTTPProxy\n  timeout: 5s\n".to_string(),
        format!(
            "name: built\nkind: Pipeline\nfilters:\n- name: build\n  kind: RequestBuilder\n  template: |\n    method: POST\n    url: {upstream}/built{{{{.req.URL.Path}}}}?from=builder\n    body: built body\n- name: proxy\n  kind: SimpleHTTPProxy\n"
        ),
    ];
    for p in &pipelines {
        assert_eq!(server.api("POST", "/objects", p).status, 201, "{p}");
    }
    let gateway = format!(
        "name: fwd-gw\nkind: HTTPServer\nport: {port}\naddress: 127.0.0.1\n\
         ipFilter:\n  blockByDefault: true\n  allowIPs: [127.0.0.1]\n\
         rules:\n- paths:\n  - pathPrefix: /build/\n    backend: built\n  - methods: [CONNECT]\n    backend: forward\n  - pathPrefix: /\n    backend: forward\n"
    );
    assert_eq!(server.api("POST", "/objects", &gateway).status, 201);
    let addr = format!("127.0.0.1:{port}");
    eventually(Duration::from_secs(15), || TcpStream::connect(&addr).ok());
    Gateway { server, addr, port }
}

/// Sends `CONNECT target` on a new connection; returns the status, the header lines (lower
/// case) and the connection.
fn connect(gateway: &str, target: &str) -> (u16, Vec<String>, BufReader<TcpStream>) {
    let mut s = TcpStream::connect(gateway).expect("connect to the gateway");
    s.set_read_timeout(Some(READ_TIMEOUT))
        .expect("read timeout");
    write!(s, "CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n").expect("write");
    let mut r = BufReader::new(s);
    let mut line = String::new();
    r.read_line(&mut line).expect("status line");
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        r.read_line(&mut h).expect("header line");
        if h == "\r\n" || h.is_empty() {
            break;
        }
        headers.push(h.trim_end().to_ascii_lowercase());
    }
    (status, headers, r)
}

/// A TCP server echoing every connection back; returns its address.
fn echo_server() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("address");
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            std::thread::spawn(move || {
                let mut s = s;
                let mut w = s.try_clone().expect("clone");
                let _ = std::io::copy(&mut s, &mut w);
            });
        }
    });
    addr
}

#[test]
fn forward_proxy_requests_tunnels_and_built_urls() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let up = rt.block_on(Upstream::start(|s| {
        Reply::text(200, &format!("upstream {} {}", s.method, s.body.len()))
            .header("keep-alive", "timeout=5")
    }));
    let gw = start("forward-proxy", &up.url());

    // An absolute-form GET goes to the URL's host, path and query as they are.
    let a = http(
        &gw.addr,
        "GET",
        &format!("{}/a%2Fb?x=1&y=2", up.url()),
        &[
            ("Proxy-Connection", "keep-alive"),
            ("Proxy-Authorization", "Basic dTpw"),
        ],
        "",
    )
    .expect("forwarded GET");
    assert_eq!(a.status, 200, "{a:?}");
    assert_eq!(a.body, "upstream GET 0");
    assert!(a.header("keep-alive").is_none());
    let seen = up.last();
    assert_eq!(seen.target, "/a%2Fb?x=1&y=2");
    assert_eq!(seen.headers["host"], up.addr.to_string().as_str());
    assert!(!seen.headers.contains_key("proxy-connection"));
    assert!(!seen.headers.contains_key("proxy-authorization"));

    // A POST body goes along.
    let a = http(
        &gw.addr,
        "POST",
        &format!("{}/post", up.url()),
        &[],
        "twelve bytes",
    )
    .expect("POST");
    assert_eq!(a.body, "upstream POST 12");
    assert_eq!(up.last().body, "twelve bytes");

    // A RequestBuilder's URL.
    let a = http(&gw.addr, "GET", "/build/orig", &[], "").expect("built request");
    assert_eq!(a.status, 200, "{a:?}");
    assert_eq!(a.body, "upstream POST 10");
    assert_eq!(up.last().target, "/built/build/orig?from=builder");

    // An unreachable target.
    let a = http(
        &gw.addr,
        "GET",
        &format!("http://{}/", closed_addr()),
        &[],
        "",
    )
    .expect("GET");
    assert_eq!(a.status, 503);

    // CONNECT to a TCP echo server: bytes go both ways.
    let echo = echo_server();
    let (status, headers, mut tunnel) = connect(&gw.addr, &echo.to_string());
    assert_eq!(status, 200);
    // A 2xx to CONNECT has no framing (RFC 9110 §9.3.6).
    assert!(
        !headers
            .iter()
            .any(|h| h.starts_with("content-length") || h.starts_with("transfer-encoding")),
        "{headers:?}"
    );
    tunnel
        .get_mut()
        .write_all(b"ping through the tunnel")
        .expect("write");
    let mut back = [0u8; 23];
    tunnel.read_exact(&mut back).expect("echo");
    assert_eq!(&back, b"ping through the tunnel");
    drop(tunnel);

    // CONNECT to an HTTPS server: TLS end to end through the tunnel.
    let cert = self_signed(&["127.0.0.1"]);
    let acceptor = tls_acceptor(&cert.cert_pem, &cert.key_pem);
    let secure = rt.block_on(Upstream::start_with(Some(acceptor), |s| {
        Reply::text(200, &format!("secure {}", s.target))
    }));
    let (status, _, tunnel) = connect(&gw.addr, &secure.addr.to_string());
    assert_eq!(status, 200);
    let answer = https_get(tunnel.into_inner(), &cert.cert_der, "/inside?tls=1");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("secure /inside?tls=1"), "{answer}");

    // CONNECT to a target nobody listens on.
    let (status, _, _) = connect(&gw.addr, &closed_addr().to_string());
    assert_eq!(status, 503);

    // The status shows the filter's counters.
    let key = "eg-traffic-default/forward/forward-proxy";
    let st = eventually(Duration::from_secs(15), || {
        let a = gw.server.api("GET", "/status/objects/forward", "");
        let j = a.json();
        let proxy = j.get(key)?.get("filters")?.get("proxy")?.clone();
        (proxy["tunnels"]["opened"] == 2 && proxy["tunnels"]["open"] == 0).then_some(proxy)
    });
    assert_eq!(st["tunnels"]["failed"], 1);
    assert!(st["requests"].as_u64().is_some_and(|n| n >= 3), "{st}");

    // Clients the ipFilter does not list are refused.
    let refused = rt.block_on(async {
        let sock = tokio::net::TcpSocket::new_v4().expect("socket");
        sock.bind("127.0.0.2:0".parse().expect("address"))
            .expect("bind 127.0.0.2");
        let mut s = sock
            .connect(format!("127.0.0.1:{}", gw.port).parse().expect("address"))
            .await
            .expect("connect");
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let req = format!(
            "GET {}/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            up.url()
        );
        s.write_all(req.as_bytes()).await.expect("write");
        let mut out = Vec::new();
        let _ = tokio::time::timeout(READ_TIMEOUT, s.read_to_end(&mut out)).await;
        String::from_utf8_lossy(&out).into_owned()
    });
    assert!(refused.starts_with("HTTP/1.1 403"), "{refused}");
}

fn tls_acceptor(cert: &str, key: &str) -> tokio_rustls::TlsAcceptor {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert.as_bytes())
        .collect::<Result<_, _>>()
        .expect("certificate");
    let key = PrivateKeyDer::from_pem_slice(key.as_bytes()).expect("key");
    let cfg = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .expect("server config");
    tokio_rustls::TlsAcceptor::from(Arc::new(cfg))
}

/// `GET target` over TLS on `stream`, trusting only `root`; returns the whole answer.
fn https_get(
    stream: TcpStream,
    root: &rustls::pki_types::CertificateDer<'static>,
    target: &str,
) -> String {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(root.clone()).expect("root");
    let cfg = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").expect("name");
    let conn = rustls::ClientConnection::new(Arc::new(cfg), name).expect("TLS client");
    let mut tls = rustls::StreamOwned::new(conn, stream);
    write!(
        tls,
        "GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .expect("write over TLS");
    let mut out = Vec::new();
    let _ = tls.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}
