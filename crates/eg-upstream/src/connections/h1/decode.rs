//! Parsing a response head and deciding how its body is framed (RFC 9112 §6.3).

use std::mem::MaybeUninit;

use bytes::BytesMut;
use eg_protocols::spans::HeaderSpans;
use eg_protocols::ConnectionOptions;
use http::header::{CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Version};

use super::{H1Error, MAX_HEADERS, MAX_HEAD_BYTES};

/// How the body of an answer ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// No body (`HEAD`, `1xx`, `204`, `304`).
    None,
    /// Exactly this many bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Until the server closes the connection.
    Close,
}

/// `Keep-Alive`: the parameters of this connection's persistence, never forwarded.
const KEEP_ALIVE: HeaderName = HeaderName::from_static("keep-alive");

/// A parsed response head.
#[derive(Debug)]
pub(crate) struct Head {
    pub status: StatusCode,
    pub version: Version,
    pub headers: HeaderMap,
    pub framing: Framing,
    /// Whether the connection can carry another request after this answer.
    pub keep_alive: bool,
    /// `Content-Type: text/event-stream`: a body that is never read whole.
    pub event_stream: bool,
}

/// Parses the response head at the start of `buf`, taking it out of `buf` (the body's
/// bytes stay); `Ok(None)` while it is incomplete. `to_head`: the request was `HEAD`.
pub(crate) fn parse_head(buf: &mut BytesMut, to_head: bool) -> Result<Option<Head>, H1Error> {
    // Left uninitialised (no 3 KiB memset per answer); httparse writes what it parses.
    let mut raw = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
    let mut res = httparse::Response::new(&mut []);
    let parsed = httparse::ParserConfig::default()
        .parse_response_with_uninit_headers(&mut res, buf, &mut raw);
    let len = match parsed {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD_BYTES => {
            return Err(H1Error::HeadTooLarge)
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(H1Error::Invalid("more than 100 headers"))
        }
        Err(_) => return Err(H1Error::Invalid("malformed head")),
    };
    if len > MAX_HEAD_BYTES {
        return Err(H1Error::HeadTooLarge);
    }
    let status = res
        .code
        .and_then(|c| StatusCode::from_u16(c).ok())
        .ok_or(H1Error::Invalid("status code"))?;
    let version = match res.version {
        Some(0) => Version::HTTP_10,
        _ => Version::HTTP_11,
    };
    // The header values are slices of the head, which is split off the buffer once parsed.
    let mut spans = HeaderSpans::new();
    spans.note(
        buf,
        res.headers.iter().map(|h| (h.name.as_bytes(), h.value)),
    );
    let head = buf.split_to(len).freeze();

    let mut headers = HeaderMap::with_capacity(spans.len());
    let mut length: Option<u64> = None;
    let mut chunked = false;
    let mut te = false;
    let (mut close, mut keep) = (false, false);
    let mut event_stream = false;
    for (name, value_range) in spans.iter() {
        let name = &head[name];
        let name = eg_protocols::header_name(name).map_err(|_| H1Error::Invalid("header name"))?;
        // Read as bytes here; a view of the head (a reference count up, and down when it
        // goes) is made only for a header that is kept.
        let value = &head[value_range.clone()];
        if name == CONTENT_LENGTH {
            let n = parse_length(value).ok_or(H1Error::Invalid("content-length"))?;
            if length.is_some_and(|l| l != n) {
                return Err(H1Error::Invalid("conflicting content-length"));
            }
            length = Some(n);
        } else if name == TRANSFER_ENCODING {
            te = true;
            // Only the last coding says whether the body is chunked.
            chunked = last_token(value).eq_ignore_ascii_case(b"chunked");
        } else if name == CONTENT_TYPE {
            event_stream = value.starts_with(b"text/event-stream");
        } else if name == CONNECTION {
            let says = ConnectionOptions::of(value);
            close |= says.close;
            keep |= says.keep_alive;
            // It belongs to this connection and is never forwarded; kept only when it
            // names other headers, which go with it (`remove_hop_by_hop`).
            if !says.names_headers {
                continue;
            }
        } else if name == KEEP_ALIVE {
            continue;
        }
        headers.append(name, parsed_value(head.slice(value_range)));
    }

    let code = status.as_u16();
    let framing = if to_head || status.is_informational() || code == 204 || code == 304 {
        Framing::None
    } else if te {
        // Transfer-Encoding wins over Content-Length (RFC 9112 §6.3).
        if chunked {
            Framing::Chunked
        } else {
            Framing::Close
        }
    } else {
        match length {
            Some(n) => Framing::Length(n),
            None => Framing::Close,
        }
    };
    let keep_alive = code != 101
        && framing != Framing::Close
        // A message with both is suspect: its connection is not used again.
        && !(te && length.is_some())
        && match version {
            Version::HTTP_10 => keep && !close,
            _ => !close,
        };
    Ok(Some(Head {
        status,
        version,
        headers,
        framing,
        keep_alive,
        event_stream,
    }))
}

/// A header value httparse took from the head this module parsed.
///
/// `HeaderValue::from_maybe_shared` would check every byte again (about four instructions
/// a byte, a tenth of the cost of an answer head); httparse has already refused any other.
#[allow(unsafe_code)]
fn parsed_value(value: bytes::Bytes) -> HeaderValue {
    // SAFETY: `from_maybe_shared_unchecked` asks for bytes `HeaderValue` accepts: HTAB,
    // 0x20..=0x7E and 0x80..=0xFF. `value` is a view of the head `parse_head` split off its
    // buffer unchanged right after httparse parsed it (the buffer is borrowed mutably for
    // the whole of `parse_head`, so nothing else writes to it), at the place httparse
    // reported a header value. With its default configuration (no obsolete line folding,
    // no tolerance of invalid header lines) httparse ends a value at CR or LF and fails the
    // head on any other byte outside HTAB, 0x20..=0x7E and 0x80..=0xFF, so the view holds
    // only accepted bytes. Debug builds check it again (`http` validates there) and the
    // module's tests feed it tabs, obs-text and control bytes.
    unsafe { HeaderValue::from_maybe_shared_unchecked(value) }
}

/// A `Content-Length` value: digits, or a list of the same digits (`5, 5`).
fn parse_length(v: &[u8]) -> Option<u64> {
    let mut found: Option<u64> = None;
    for part in v.split(|&b| b == b',') {
        let n = eg_protocols::parse_length(part.trim_ascii())?;
        if found.is_some_and(|f| f != n) {
            return None;
        }
        found = Some(n);
    }
    found
}

/// The last comma-separated token of a header value, trimmed.
fn last_token(v: &[u8]) -> &[u8] {
    v.rsplit(|&b| b == b',')
        .next()
        .unwrap_or_default()
        .trim_ascii()
}

#[cfg(test)]
mod tests {
    use super::*;
    use eg_protocols::spans::INLINE_HEADERS;

    fn parse(s: &str, to_head: bool) -> Result<Option<Head>, H1Error> {
        let mut b = BytesMut::from(s);
        parse_head(&mut b, to_head)
    }

    fn framing(s: &str) -> (Framing, bool) {
        let h = parse(s, false).unwrap().unwrap();
        (h.framing, h.keep_alive)
    }

    #[test]
    fn the_head_is_taken_and_the_body_stays() {
        let mut b = BytesMut::from(
            "HTTP/1.1 201 Created\r\nX-A: 1\r\nx-a: 2\r\nContent-Length: 3\r\n\r\nabc",
        );
        let h = parse_head(&mut b, false).unwrap().unwrap();
        assert_eq!(h.status, 201);
        assert_eq!(h.version, Version::HTTP_11);
        let a: Vec<_> = h.headers.get_all("x-a").iter().collect();
        assert_eq!(a, ["1", "2"]);
        assert_eq!(&b[..], b"abc");
        assert_eq!((h.framing, h.keep_alive), (Framing::Length(3), true));
    }

    #[test]
    fn values_keep_tabs_and_obs_text() {
        let mut b = BytesMut::from(
            &b"HTTP/1.1 200 OK\r\nX-A: a\tb \xe9\xff~\r\nX-B:\t \r\nContent-Length: 0\r\n\r\n"[..],
        );
        let h = parse_head(&mut b, false).unwrap().unwrap();
        assert_eq!(h.headers["x-a"].as_bytes(), b"a\tb \xe9\xff~");
        assert!(h.headers["x-a"].to_str().is_err());
        assert_eq!(h.headers["x-b"].as_bytes(), b"");
    }

    #[test]
    fn heads_with_more_headers_than_kept_inline_are_whole() {
        for n in [INLINE_HEADERS, INLINE_HEADERS + 1, MAX_HEADERS] {
            let mut head = String::from("HTTP/1.1 200 OK\r\n");
            for i in 0..n {
                head.push_str(&format!("X-H{i}: v{i}\r\n"));
            }
            head.push_str("\r\n");
            let h = parse(&head, false).unwrap().unwrap();
            assert_eq!(h.headers.len(), n);
            for i in [0, n / 2, n - 1] {
                assert_eq!(
                    h.headers[format!("x-h{i}").as_str()],
                    format!("v{i}").as_str()
                );
            }
        }
    }

    #[test]
    fn the_connections_own_headers_are_not_kept() {
        let h = parse(
            "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nX-A: 1\r\nContent-Length: 0\r\n\r\n",
            false,
        )
        .unwrap()
        .unwrap();
        assert!(h.headers.get("connection").is_none());
        assert!(h.headers.get("keep-alive").is_none());
        assert_eq!(h.headers["x-a"], "1");
        assert!(h.keep_alive);
        // A Connection that names other headers stays, so they can be dropped with it.
        let h = parse(
            "HTTP/1.1 200 OK\r\nConnection: close, X-A\r\nX-A: 1\r\nContent-Length: 0\r\n\r\n",
            false,
        )
        .unwrap()
        .unwrap();
        assert_eq!(h.headers["connection"], "close, X-A");
        assert!(!h.keep_alive);
    }

    #[test]
    fn an_incomplete_head_waits() {
        assert!(parse("HTTP/1.1 200 OK\r\nContent-Le", false)
            .unwrap()
            .is_none());
    }

    #[test]
    fn framing_follows_rfc_9112() {
        assert_eq!(
            framing("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"),
            (Framing::Chunked, true)
        );
        assert_eq!(
            framing("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"),
            (Framing::Close, false)
        );
        // Both: Transfer-Encoding wins, and the connection is not used again.
        assert_eq!(
            framing("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"),
            (Framing::Chunked, false)
        );
        assert_eq!(framing("HTTP/1.1 200 OK\r\n\r\n"), (Framing::Close, false));
        assert_eq!(
            framing("HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n"),
            (Framing::None, true)
        );
        assert_eq!(
            framing("HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n"),
            (Framing::None, true)
        );
        assert_eq!(
            framing("HTTP/1.1 200 OK\r\nContent-Length: 4, 4\r\n\r\n"),
            (Framing::Length(4), true)
        );
        assert_eq!(
            framing("HTTP/1.1 200 OK\r\nContent-Length: 4\r\nConnection: close\r\n\r\n"),
            (Framing::Length(4), false)
        );
        assert_eq!(
            framing("HTTP/1.0 200 OK\r\nContent-Length: 4\r\n\r\n"),
            (Framing::Length(4), false)
        );
        assert_eq!(
            framing("HTTP/1.0 200 OK\r\nContent-Length: 4\r\nConnection: Keep-Alive\r\n\r\n"),
            (Framing::Length(4), true)
        );
        assert_eq!(
            framing("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n"),
            (Framing::None, false)
        );
        let h = parse("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", true)
            .unwrap()
            .unwrap();
        assert_eq!((h.framing, h.keep_alive), (Framing::None, true));
    }

    #[test]
    fn bad_heads_are_refused() {
        for bad in [
            "HTTP/1.1 200 OK\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 4, 5\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: -4\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n",
            "HTTP/1.1 2000 OK\r\n\r\n",
            "HTTX/1.1 200 OK\r\n\r\n",
            "HTTP/1.1 200 OK\r\nBad Name: 1\r\n\r\n",
            // Control bytes in a value; an obsolete line folding.
            "HTTP/1.1 200 OK\r\nX-A: a\x01b\r\n\r\n",
            "HTTP/1.1 200 OK\r\nX-A: a\x7fb\r\n\r\n",
            "HTTP/1.1 200 OK\r\nX-A: a\x00b\r\n\r\n",
            "HTTP/1.1 200 OK\r\nX-A: a\rb\r\n\r\n",
            "HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\n\r\n",
        ] {
            assert!(
                matches!(parse(bad, false), Err(H1Error::Invalid(_))),
                "{bad:?}"
            );
        }
        let many: String = (0..=MAX_HEADERS).map(|i| format!("x-{i}: 1\r\n")).collect();
        let r = parse(&format!("HTTP/1.1 200 OK\r\n{many}\r\n"), false);
        assert!(matches!(r, Err(H1Error::Invalid(_))));
        let long = format!("HTTP/1.1 200 OK\r\nx-big: {}", "a".repeat(MAX_HEAD_BYTES));
        assert!(matches!(parse(&long, false), Err(H1Error::HeadTooLarge)));
    }
}
