//! Compression, https targets, keep-alive connections and the status.

use std::io::Read;

use eg_testkit::self_signed;
use http::StatusCode;

use super::*;
use crate::proxy::tests::tls::acceptor_for;

#[tokio::test]
async fn compression_gzips_answers_of_min_length_or_more() {
    let text = "compress me ".repeat(20);
    let body = text.clone();
    let up = Upstream::start(move |s| {
        if s.target == "/small" {
            Reply::text(200, "tiny")
        } else {
            Reply::text(200, &body)
        }
    })
    .await;
    let p = proxy(json!({"compression": {"minLength": 100}}));
    let mut c = ctx(
        "GET",
        &format!("{}/big", up.url()),
        &[("accept-encoding", "gzip")],
    );
    assert_eq!(run(&p, &mut c).await, "");
    let h = &response(&c).headers;
    assert_eq!(h["content-encoding"], "gzip");
    assert_eq!(h["vary"], "Content-Encoding");
    let r = c.response_mut().unwrap();
    let zipped = r.body.buffer(None).await.unwrap();
    let mut plain_text = String::new();
    flate2::read::GzDecoder::new(&zipped[..])
        .read_to_string(&mut plain_text)
        .unwrap();
    assert_eq!(plain_text, text);

    let mut c = ctx(
        "GET",
        &format!("{}/small", up.url()),
        &[("accept-encoding", "gzip")],
    );
    assert_eq!(run(&p, &mut c).await, "");
    assert!(!response(&c).headers.contains_key("content-encoding"));
    assert_eq!(body_text(&mut c).await, "tiny");

    let mut c = ctx(
        "GET",
        &format!("{}/big", up.url()),
        &[("accept-encoding", "br")],
    );
    assert_eq!(run(&p, &mut c).await, "");
    assert!(!response(&c).headers.contains_key("content-encoding"));
}

#[tokio::test]
async fn https_targets_are_verified_unless_told_otherwise() {
    let cert = self_signed(&["127.0.0.1"]);
    let up = Upstream::start_with(
        Some(acceptor_for(&cert.cert_pem, &cert.key_pem, false)),
        |s| Reply::text(200, &format!("secure {}", s.target)),
    )
    .await;
    let url = format!("https://{}/s?q=1", up.addr);

    let p = plain();
    let mut c = ctx("GET", &url, &[]);
    assert_eq!(run(&p, &mut c).await, "serverError");
    assert_eq!(response(&c).status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(up.hits(), 0);

    let p = proxy(json!({"insecureSkipVerify": true}));
    let mut c = ctx("GET", &url, &[("proxy-connection", "keep-alive")]);
    assert_eq!(run(&p, &mut c).await, "");
    assert_eq!(body_text(&mut c).await, "secure /s?q=1");
    let seen = up.last();
    assert_eq!(seen.headers["host"], up.addr.to_string().as_str());
    assert!(!seen.headers.contains_key("proxy-connection"));
}

#[tokio::test]
async fn connections_to_a_host_are_kept_alive() {
    let up = Upstream::named("a").await;
    let p = plain();
    for _ in 0..3 {
        let mut c = ctx("GET", &format!("{}/k", up.url()), &[]);
        assert_eq!(run(&p, &mut c).await, "");
        assert_eq!(body_text(&mut c).await, "a");
    }
    assert_eq!(up.hits(), 3);
    assert_eq!(up.conns.load(std::sync::atomic::Ordering::SeqCst), 1);
    let s = p.status();
    assert_eq!(s["requests"], 3);
    assert_eq!(s["failures"], 0);
    assert_eq!(s["hosts"], 1);
}

#[tokio::test]
async fn a_connect_request_outside_a_server_connection_is_an_internal_error() {
    let up = Upstream::named("a").await;
    let p = plain();
    let mut c = ctx("CONNECT", &up.addr.to_string(), &[]);
    assert_eq!(run(&p, &mut c).await, "internalError");
    assert_eq!(response(&c).status, StatusCode::INTERNAL_SERVER_ERROR);
}
