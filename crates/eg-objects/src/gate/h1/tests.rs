//! The codec's pure parts: which heads it serves, and the heads it writes.

use bytes::BytesMut;
use http::{HeaderMap, Method, StatusCode, Version};

use super::request::{self, Exchange, Parsed, ADDED_HEADERS_ROOM, MAX_HEAD_BYTES};
use super::response::{encode_head, Framing, Written};

fn parse(text: &str) -> (Parsed, BytesMut) {
    let mut buf = BytesMut::from(text);
    let parsed = request::parse(&mut buf);
    (parsed, buf)
}

#[test]
fn requests_with_more_headers_than_kept_inline_are_whole() {
    let inline = eg_protocols::spans::INLINE_HEADERS;
    for n in [inline, inline + 1, 99] {
        let mut head = String::from("GET /t HTTP/1.1\r\nHost: h\r\n");
        for i in 1..n {
            head.push_str(&format!("X-H{i}: v{i}\r\n"));
        }
        head.push_str("\r\n");
        let (Parsed::Request(req, _), rest) = parse(&head) else {
            panic!("{n} headers not served here");
        };
        assert!(rest.is_empty());
        assert_eq!(req.uri().path(), "/t");
        assert_eq!(req.headers().len(), n);
        assert_eq!(req.headers()["host"], "h");
        for i in [1, n / 2, n - 1] {
            assert_eq!(
                req.headers()[format!("x-h{i}").as_str()],
                format!("v{i}").as_str()
            );
        }
    }
}

#[test]
fn a_request_has_room_for_the_headers_a_pipeline_adds() {
    for n in [1, 5, 20] {
        let mut head = String::from("GET /t HTTP/1.1\r\nHost: h\r\n");
        for i in 1..n {
            head.push_str(&format!("X-H{i}: v{i}\r\n"));
        }
        head.push_str("\r\n");
        let (Parsed::Request(mut req, _), _) = parse(&head) else {
            panic!("{n} headers not served here");
        };
        let room = req.headers().capacity();
        for i in 0..ADDED_HEADERS_ROOM {
            let name = http::HeaderName::try_from(format!("x-added-{i}")).unwrap();
            req.headers_mut()
                .insert(name, http::HeaderValue::from_static("1"));
        }
        // Not moved to a larger table.
        assert_eq!(req.headers().capacity(), room, "{n} headers");
        assert_eq!(req.headers().len(), n + ADDED_HEADERS_ROOM);
    }
}

#[test]
fn a_request_without_a_body_is_read_and_taken_from_the_buffer() {
    let (parsed, rest) =
        parse("GET /a/b?c=d HTTP/1.1\r\nHost: example.com\r\nX-A: 1\r\nx-a: 2\r\n\r\nGET /next");
    let Parsed::Request(req, exchange) = parsed else {
        panic!("{parsed:?}");
    };
    assert_eq!(req.method(), Method::GET);
    assert_eq!(req.uri().path(), "/a/b");
    assert_eq!(req.uri().query(), Some("c=d"));
    assert_eq!(req.version(), Version::HTTP_11);
    assert_eq!(req.headers()["host"], "example.com");
    let a: Vec<_> = req.headers().get_all("x-a").iter().collect();
    assert_eq!(a, ["1", "2"]);
    assert_eq!(
        exchange,
        Exchange {
            version: Version::HTTP_11,
            to_head: false,
            keep_alive: true
        }
    );
    // The next, pipelined request stays.
    assert_eq!(&rest[..], b"GET /next");
}

#[test]
fn keep_alive_follows_the_version_and_connection() {
    let keep = |text: &str| match parse(text).0 {
        Parsed::Request(_, e) => e.keep_alive,
        other => panic!("{other:?}"),
    };
    assert!(keep("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
    assert!(!keep(
        "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
    ));
    assert!(!keep("GET / HTTP/1.1\r\nConnection: foo, Close\r\n\r\n"));
    assert!(!keep("GET / HTTP/1.0\r\n\r\n"));
    assert!(keep("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"));
    assert!(!keep(
        "GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n"
    ));
}

#[test]
fn an_empty_body_and_head_requests_are_served_here() {
    for text in [
        "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
        "DELETE /x HTTP/1.1\r\nHost: a\r\ncontent-length:  0 \r\n\r\n",
    ] {
        assert!(matches!(parse(text).0, Parsed::Request(..)), "{text:?}");
    }
    let Parsed::Request(_, e) = parse("HEAD / HTTP/1.1\r\nHost: a\r\n\r\n").0 else {
        panic!()
    };
    assert!(e.to_head);
}

#[test]
fn what_hyper_serves_is_left_in_the_buffer() {
    for text in [
        "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
        "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nContent-Length: 0, 0\r\n\r\n",
        "PUT /x HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\n",
        "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
        "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, upgrade\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nTE: trailers\r\n\r\n",
        "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n",
        "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET http://a/x HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET / HTTP/1.1\r\nBad Name: 1\r\n\r\n",
        "GET / HTTP/2.0\r\n\r\n",
        "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    ] {
        let (parsed, rest) = parse(text);
        assert!(matches!(parsed, Parsed::Elsewhere), "{text:?}: {parsed:?}");
        assert_eq!(&rest[..], text.as_bytes(), "{text:?}");
    }
    let many: String = (0..=100).map(|i| format!("x-{i}: 1\r\n")).collect();
    let text = format!("GET / HTTP/1.1\r\n{many}\r\n");
    assert!(matches!(parse(&text).0, Parsed::Elsewhere));
}

#[test]
fn values_keep_tabs_and_obs_text_and_control_bytes_go_to_hyper() {
    let mut buf = BytesMut::from(&b"GET / HTTP/1.1\r\nX-A: a\tb \xe9\xff~\r\nX-B:\t \r\n\r\n"[..]);
    let Parsed::Request(req, _) = request::parse(&mut buf) else {
        panic!("not served here");
    };
    assert_eq!(req.headers()["x-a"].as_bytes(), b"a\tb \xe9\xff~");
    assert!(req.headers()["x-a"].to_str().is_err());
    assert_eq!(req.headers()["x-b"].as_bytes(), b"");
    // httparse refuses these heads, so hyper answers them (400).
    for bad in [
        &b"GET / HTTP/1.1\r\nX-A: a\x01b\r\n\r\n"[..],
        b"GET / HTTP/1.1\r\nX-A: a\x7fb\r\n\r\n",
        b"GET / HTTP/1.1\r\nX-A: a\x00b\r\n\r\n",
        b"GET / HTTP/1.1\r\nX-A: a\rb\r\n\r\n",
        b"GET / HTTP/1.1\r\nX-A: a\r\n b\r\n\r\n",
    ] {
        let mut buf = BytesMut::from(bad);
        let parsed = request::parse(&mut buf);
        assert!(matches!(parsed, Parsed::Elsewhere), "{bad:?}: {parsed:?}");
        assert_eq!(&buf[..], bad);
    }
}

#[test]
fn long_heads_wait_up_to_the_limit_then_go_to_hyper() {
    assert!(matches!(
        parse("GET / HTTP/1.1\r\nHost: a\r\n").0,
        Parsed::Partial
    ));
    let long = format!("GET / HTTP/1.1\r\nx-big: {}", "a".repeat(MAX_HEAD_BYTES));
    assert!(matches!(parse(&long).0, Parsed::Elsewhere));
    let whole = format!("{long}\r\n\r\n");
    assert!(matches!(parse(&whole).0, Parsed::Elsewhere));
}

#[test]
fn a_target_the_uri_type_refuses_is_malformed() {
    // httparse takes `<` and `>` in a target; the URI type does not.
    let mut buf = BytesMut::from(&b"GET /a<b> HTTP/1.1\r\nHost: a\r\n\r\n"[..]);
    let parsed = request::parse(&mut buf);
    let rest = buf;
    assert!(matches!(parsed, Parsed::Malformed), "{parsed:?}");
    assert!(rest.is_empty());
}

fn head(
    status: u16,
    headers: &[(&str, &str)],
    body_len: Option<u64>,
    exchange: Exchange,
    keep_alive: bool,
) -> (String, Written) {
    let mut map = HeaderMap::new();
    for (n, v) in headers {
        map.append(
            http::HeaderName::from_bytes(n.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    let mut out = Vec::new();
    let written = encode_head(
        &mut out,
        StatusCode::from_u16(status).unwrap(),
        &map,
        body_len,
        exchange,
        keep_alive,
    );
    let text = String::from_utf8(out).unwrap();
    // The date changes; its line is checked once and cut out.
    let (before, after) = text.split_once("date: ").expect("a date");
    let (_, after) = after.split_once("\r\n").unwrap();
    (format!("{before}{after}"), written)
}

const GET11: Exchange = Exchange {
    version: Version::HTTP_11,
    to_head: false,
    keep_alive: true,
};

#[test]
fn a_known_length_is_sent_as_content_length() {
    let (text, w) = head(200, &[("content-type", "text/plain")], Some(5), GET11, true);
    assert_eq!(
        text,
        "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 5\r\n\r\n"
    );
    assert_eq!(
        w,
        Written {
            framing: Framing::Length(5),
            keep_alive: true
        }
    );
    // A header length is replaced by the body's; Transfer-Encoding is the writer's choice.
    let (text, w) = head(
        404,
        &[("content-length", "9"), ("transfer-encoding", "chunked")],
        Some(3),
        GET11,
        true,
    );
    assert_eq!(text, "HTTP/1.1 404 Not Found\r\ncontent-length: 3\r\n\r\n");
    assert_eq!(w.framing, Framing::Length(3));
}

#[test]
fn an_unknown_length_is_chunked_or_closes_on_http_1_0() {
    let (text, w) = head(200, &[], None, GET11, true);
    assert_eq!(
        text,
        "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
    );
    assert_eq!((w.framing, w.keep_alive), (Framing::Chunked, true));
    // A length the headers give frames an unsized body.
    let (text, w) = head(200, &[("content-length", "7")], None, GET11, true);
    assert_eq!(text, "HTTP/1.1 200 OK\r\ncontent-length: 7\r\n\r\n");
    assert_eq!(w.framing, Framing::Length(7));
    let get10 = Exchange {
        version: Version::HTTP_10,
        ..GET11
    };
    let (text, w) = head(200, &[], None, get10, true);
    assert_eq!(text, "HTTP/1.0 200 OK\r\n\r\n");
    assert_eq!((w.framing, w.keep_alive), (Framing::Close, false));
}

#[test]
fn bodiless_answers_keep_or_lose_their_length_as_hyper_does() {
    let to_head = Exchange {
        to_head: true,
        ..GET11
    };
    let (text, w) = head(200, &[("content-length", "42")], Some(0), to_head, true);
    assert_eq!(text, "HTTP/1.1 200 OK\r\ncontent-length: 42\r\n\r\n");
    assert_eq!(w.framing, Framing::None);
    // A HEAD answer without a length gets its body's.
    let (text, _) = head(200, &[], Some(9), to_head, true);
    assert_eq!(text, "HTTP/1.1 200 OK\r\ncontent-length: 9\r\n\r\n");
    // No implicit zero for HEAD, 204 and 304; one for other empty bodies.
    let (text, _) = head(200, &[], Some(0), to_head, true);
    assert_eq!(text, "HTTP/1.1 200 OK\r\n\r\n");
    let (text, _) = head(304, &[("content-length", "42")], Some(0), GET11, true);
    assert_eq!(
        text,
        "HTTP/1.1 304 Not Modified\r\ncontent-length: 42\r\n\r\n"
    );
    let (text, w) = head(204, &[("content-length", "0")], Some(0), GET11, true);
    assert_eq!(text, "HTTP/1.1 204 No Content\r\n\r\n");
    assert_eq!(w.framing, Framing::None);
    let (text, w) = head(200, &[], Some(0), GET11, true);
    assert_eq!(text, "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
    assert_eq!(w.framing, Framing::Length(0));
}

#[test]
fn connection_and_version_follow_hyper() {
    // Closing an HTTP/1.1 connection says so, once.
    let (text, w) = head(200, &[], Some(0), GET11, false);
    assert_eq!(
        text,
        "HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    );
    assert!(!w.keep_alive);
    let (text, w) = head(503, &[("connection", "close")], Some(0), GET11, true);
    assert_eq!(
        text,
        "HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\ncontent-length: 0\r\n\r\n"
    );
    assert!(!w.keep_alive);
    // A kept-alive HTTP/1.0 connection says keep-alive.
    let get10 = Exchange {
        version: Version::HTTP_10,
        ..GET11
    };
    let (text, w) = head(200, &[], Some(2), get10, true);
    assert_eq!(
        text,
        "HTTP/1.0 200 OK\r\ncontent-length: 2\r\nconnection: keep-alive\r\n\r\n"
    );
    assert!(w.keep_alive);
    let (text, w) = head(200, &[], Some(2), get10, false);
    assert_eq!(text, "HTTP/1.0 200 OK\r\ncontent-length: 2\r\n\r\n");
    assert!(!w.keep_alive);
    // A status without a reason phrase still gets one.
    let (text, _) = head(599, &[], Some(0), GET11, true);
    assert!(text.starts_with("HTTP/1.1 599 <none>\r\n"), "{text}");
}

#[test]
fn a_date_given_is_kept() {
    let mut map = HeaderMap::new();
    map.insert("date", "Sun, 06 Nov 1994 08:49:37 GMT".parse().unwrap());
    let mut out = Vec::new();
    encode_head(&mut out, StatusCode::OK, &map, Some(0), GET11, true);
    let text = String::from_utf8(out).unwrap();
    assert_eq!(text.matches("date: ").count(), 1, "{text}");
    assert!(text.contains("date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"));
}

#[test]
fn chunk_size_lines_are_hex() {
    let mut out = Vec::new();
    super::chunk_size_line(&mut out, 0x1f3a);
    super::chunk_size_line(&mut out, 1);
    assert_eq!(out, b"1f3a\r\n1\r\n");
}
