//! Request signing end to end through the real server: a RequestAdaptor `sign` signs what a
//! client sends and proxies it back to the same gateway, where a Validator `signature`
//! checks it before the upstream sees it; unsigned and tampered requests get 401.

use std::time::Duration;

use eg_testkit::{eventually, free_port, http, Reply, Server, Upstream};

const BIN: &str = env!("CARGO_BIN_EXE_easegress-server");

#[test]
fn signed_by_request_adaptor_checked_by_validator() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let up = rt.block_on(Upstream::start(|s| {
        Reply::text(200, &format!("upstream {} {}", s.target, s.body.len()))
    }));
    let server = Server::start_new(BIN, "request-signing");
    let port = free_port();
    let checker = format!(
        "name: checker\nkind: Pipeline\nfilters:\n\
         - name: check\n  kind: Validator\n  signature:\n    accessKeys:\n      gw: s3cret\n    ttl: 1m\n\
         - name: proxy\n  kind: Proxy\n  pools:\n  - servers:\n    - url: {}\n",
        up.url()
    );
    let signer = format!(
        "name: signer\nkind: Pipeline\nfilters:\n\
         - name: sign\n  kind: RequestAdaptor\n  path:\n    regexpReplace:\n      regexp: '^/out/'\n      replace: /in/\n\
         \x20 sign:\n    accessKeyId: gw\n    accessKeySecret: s3cret\n    scopes: [orders]\n    ignoredHeaders: [Connection]\n\
         - name: proxy\n  kind: Proxy\n  pools:\n  - servers:\n    - url: http://127.0.0.1:{port}\n"
    );
    server.create(&checker);
    server.create(&signer);
    let addr = server.gateway_on(
        "sign-gw",
        port,
        "- paths:\n  - pathPrefix: /in/\n    backend: checker\n  - pathPrefix: /out/\n    backend: signer\n",
    );

    // Signed on the way out, checked on the way in.
    let a = eventually(Duration::from_secs(15), || {
        http(
            &addr,
            "POST",
            "/out/orders?id=7",
            &[("X-Req", "1")],
            "hello",
        )
        .ok()
        .filter(|a| a.status == 200)
    });
    assert_eq!(a.body, "upstream /in/orders?id=7 5");
    let seen = up.last();
    let auth = seen.headers["authorization"]
        .to_str()
        .expect("text")
        .to_string();
    assert!(
        auth.starts_with("HMAC-SHA256 Credential=gw/")
            && auth.contains("/orders/request, SignedHeaders="),
        "{auth}"
    );
    let date = seen.headers["x-date"].to_str().expect("text").to_string();
    let hits = up.hits.load(std::sync::atomic::Ordering::SeqCst);

    // Not signed: 401, the upstream is not reached.
    let a = http(&addr, "POST", "/in/orders?id=7", &[("X-Req", "1")], "hello").expect("answer");
    assert_eq!(a.status, 401);
    // The same signature over another body or query: 401.
    let signed = [
        ("X-Req", "1"),
        ("Authorization", auth.as_str()),
        ("X-Date", date.as_str()),
    ];
    let a = http(&addr, "POST", "/in/orders?id=7", &signed, "hellO").expect("answer");
    assert_eq!(a.status, 401);
    let a = http(&addr, "POST", "/in/orders?id=8", &signed, "hello").expect("answer");
    assert_eq!(a.status, 401);
    assert_eq!(up.hits.load(std::sync::atomic::Ordering::SeqCst), hits);
    // The exact request again, within the ttl: accepted (ttl bounds replays, it does not
    // stop them).
    let a = http(&addr, "POST", "/in/orders?id=7", &signed, "hello").expect("answer");
    assert_eq!(a.status, 200, "{a:?}");
}
