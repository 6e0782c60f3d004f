//! Forward proxying: the request goes to its own absolute URL, path and query exactly as
//! received, hop-by-hop headers dropped both ways, bodies streamed.

use bytes::Bytes;
use http::StatusCode;

use super::*;
use crate::builder::requestbuilder;

#[tokio::test]
async fn an_absolute_url_get_goes_to_its_host_with_path_and_query_intact() {
    let a = Upstream::start(|_| {
        Reply::text(200, "from a")
            .header("connection", "x-up-hop")
            .header("x-up-hop", "1")
            .header("keep-alive", "timeout=5")
            .header("x-up", "kept")
    })
    .await;
    let b = Upstream::named("from b").await;
    let p = plain();
    let url = format!("{}/p/a%20b/../c?x=1&y=%2F&x=2", a.url());
    let mut c = ctx(
        "GET",
        &url,
        &[
            ("proxy-connection", "keep-alive"),
            ("proxy-authorization", "Basic dTpw"),
            ("connection", "x-hop"),
            ("x-hop", "1"),
            ("te", "trailers"),
            ("x-keep", "k"),
        ],
    );
    assert_eq!(run(&p, &mut c).await, "");
    assert_eq!(response(&c).status, StatusCode::OK);
    assert_eq!(body_text(&mut c).await, "from a");
    assert_eq!((a.hits(), b.hits()), (1, 0));
    let seen = a.last();
    assert_eq!(seen.target, "/p/a%20b/../c?x=1&y=%2F&x=2");
    for gone in [
        "proxy-connection",
        "proxy-authorization",
        "connection",
        "x-hop",
        "te",
    ] {
        assert!(!seen.headers.contains_key(gone), "{gone} forwarded");
    }
    assert_eq!(seen.headers["x-keep"], "k");
    assert_eq!(seen.headers["host"], a.addr.to_string().as_str());
    let h = &response(&c).headers;
    for gone in ["connection", "x-up-hop", "keep-alive"] {
        assert!(!h.contains_key(gone), "{gone} sent back");
    }
    assert_eq!(h["x-up"], "kept");
}

#[tokio::test]
async fn host_is_the_url_authority_whatever_the_client_sent() {
    let a = Upstream::named("a").await;
    let p = plain();
    let mut c = ctx(
        "GET",
        &format!("{}/", a.url()),
        &[("host", "elsewhere.example")],
    );
    assert_eq!(run(&p, &mut c).await, "");
    assert_eq!(a.last().headers["host"], a.addr.to_string().as_str());
}

#[tokio::test]
async fn a_url_without_a_path_asks_for_the_root() {
    let a = Upstream::named("a").await;
    let p = plain();
    let mut c = ctx("GET", &a.url(), &[]);
    assert_eq!(run(&p, &mut c).await, "");
    assert_eq!(a.last().target, "/");
}

#[tokio::test]
async fn a_post_body_is_streamed_up_and_the_answer_streamed_down() {
    let a = Upstream::start(|s| Reply::text(201, &format!("got {} bytes", s.body.len()))).await;
    let p = proxy(json!({"serverMaxBodySize": -1}));
    let mut c = ctx(
        "POST",
        &format!("{}/upload", a.url()),
        &[("content-length", "10")],
    );
    let (tx, body) = chan_body();
    c.request_mut().unwrap().body = body;
    tx.send(Ok(Bytes::from_static(b"01234"))).unwrap();
    tx.send(Ok(Bytes::from_static(b"56789"))).unwrap();
    drop(tx);
    assert_eq!(run(&p, &mut c).await, "");
    assert_eq!(response(&c).status, StatusCode::CREATED);
    assert!(!response(&c).body.is_buffered(), "the answer is streamed");
    assert_eq!(body_text(&mut c).await, "got 10 bytes");
    let seen = a.last();
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.body, "0123456789");
}

#[tokio::test]
async fn a_buffered_post_body_keeps_its_length() {
    let a = Upstream::start(|s| Reply::text(200, std::str::from_utf8(&s.body).unwrap())).await;
    let p = plain();
    let mut c = ctx(
        "POST",
        &format!("{}/echo", a.url()),
        &[("transfer-encoding", "chunked")],
    );
    c.request_mut().unwrap().body = eg_protocols::Body::full(Bytes::from_static(b"hello"));
    assert_eq!(run(&p, &mut c).await, "");
    assert_eq!(body_text(&mut c).await, "hello");
    let seen = a.last();
    assert_eq!(seen.headers["content-length"], "5");
    assert!(!seen.headers.contains_key("transfer-encoding"));
}

#[tokio::test]
async fn a_request_built_by_request_builder_goes_to_the_built_url() {
    let a = Upstream::start(|s| Reply::text(200, &format!("built {}", s.body.len()))).await;
    let b = Upstream::named("b").await;
    let tpl = format!(
        "method: PUT\nurl: {}/built/{{{{.req.URL.Path}}}}?src=rb\nheaders:\n  X-Built:\n  - \"yes\"\nbody: 'payload'\n",
        a.url()
    );
    let builder = crate::testkit::build(&requestbuilder::KIND, json!({"template": tpl})).unwrap();
    let p = plain();
    let mut c = ctx("GET", &format!("{}/orig", b.url()), &[]);
    assert_eq!(crate::testkit::run(builder.as_ref(), &mut c).await, "");
    assert_eq!(run(&p, &mut c).await, "");
    assert_eq!(body_text(&mut c).await, "built 7");
    assert_eq!((a.hits(), b.hits()), (1, 0));
    let seen = a.last();
    assert_eq!(seen.method, "PUT");
    assert_eq!(seen.target, "/built//orig?src=rb");
    assert_eq!(seen.headers["x-built"], "yes");
    assert_eq!(seen.body, "payload");
}

#[tokio::test]
async fn a_request_in_another_namespace_is_sent_and_answered_there() {
    let a = Upstream::named("a").await;
    let p = plain();
    let mut c = ctx("GET", "/front", &[]);
    c.use_namespace("side");
    let side =
        eg_protocols::HttpRequest::simple(http::Method::GET, &format!("{}/side", a.url())).unwrap();
    c.active_mut().request = Some(side);
    assert_eq!(run(&p, &mut c).await, "");
    assert_eq!(body_text(&mut c).await, "a");
    assert_eq!(a.last().target, "/side");
    assert!(c.take_default_response().is_none(), "DEFAULT is left alone");
}
