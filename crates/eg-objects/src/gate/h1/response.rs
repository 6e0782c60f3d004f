//! Writing a response head: the status line, the headers, and the framing of the body —
//! as hyper's HTTP/1 server writes them, so that a client sees the same answer whichever
//! of the two served it.

use eg_protocols::ConnectionOptions;
use http::header::{CONNECTION, CONTENT_LENGTH, DATE, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderValue, StatusCode, Version};

use super::date;
use super::request::Exchange;

/// How the body after a head is framed on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Framing {
    /// No body is sent (`HEAD`, `1xx`, `204`, `304`).
    None,
    /// Exactly this many bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Until the connection closes (an HTTP/1.0 client and a body of unknown length).
    Close,
}

/// What [`encode_head`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Written {
    /// How the body follows.
    pub framing: Framing,
    /// Whether the connection carries another request after this answer.
    pub keep_alive: bool,
}

/// Appends the head of a response with `status` and `headers` to `dst`.
///
/// `body_len` is the body's exact length when known. `keep_alive` is whether the
/// connection may stay open (the client's wish, the listener's setting, the drain). As in
/// hyper: the answer goes in the request's version; a length known or given by
/// `Content-Length` is sent as `Content-Length`, an unknown one chunked (HTTP/1.1) or until
/// the close (HTTP/1.0); `HEAD` and `304` answers keep their `Content-Length` (a `HEAD`
/// answer without one gets its body's length), `1xx` and `204` have none; an empty body that may have a length gets `Content-Length: 0`; an
/// HTTP/1.1 connection that closes says `Connection: close`, a kept-alive HTTP/1.0 one
/// `Connection: keep-alive`; `Date` is added when absent.
pub(super) fn encode_head(
    dst: &mut Vec<u8>,
    status: StatusCode,
    headers: &HeaderMap,
    body_len: Option<u64>,
    exchange: Exchange,
    keep_alive: bool,
) -> Written {
    let code = status.as_u16();
    // 101 hands a connection over, which only hyper does; after any 1xx written here the
    // connection closes (hyper answers them 500, which no gate returns).
    let no_length = status.is_informational() || code == 204;
    let no_body = no_length || code == 304 || exchange.to_head;
    let mut keep_alive = keep_alive && !status.is_informational();

    let http10 = exchange.version == Version::HTTP_10;
    if !http10 && code == 200 {
        dst.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
    } else {
        dst.extend_from_slice(if http10 { b"HTTP/1.0 " } else { b"HTTP/1.1 " });
        dst.extend_from_slice(status.as_str().as_bytes());
        dst.push(b' ');
        dst.extend_from_slice(status.canonical_reason().unwrap_or("<none>").as_bytes());
        dst.extend_from_slice(b"\r\n");
    }

    let mut wrote_date = false;
    let mut given_length: Option<u64> = None;
    let mut length_written = false;
    let (mut says_close, mut says_keep_alive) = (false, false);
    for (name, value) in headers {
        if name == CONTENT_LENGTH {
            if no_length {
                continue;
            }
            if given_length.is_none() {
                given_length = parse_length(value);
            }
            if !no_body {
                // The length is written below, from the body when it is known.
                continue;
            }
            length_written = true;
        } else if name == TRANSFER_ENCODING {
            // The framing is this writer's choice.
            continue;
        } else if name == CONNECTION {
            let says = ConnectionOptions::of(value.as_bytes());
            says_close |= says.close;
            says_keep_alive |= says.keep_alive;
        } else if name == DATE {
            wrote_date = true;
        }
        header(dst, name.as_str().as_bytes(), value.as_bytes());
    }
    keep_alive &= !says_close;

    let framing = if no_body {
        // A HEAD answer without a length of its own says how long the body would be.
        if let (true, false, false, Some(n @ 1..)) =
            (exchange.to_head, no_length, length_written, body_len)
        {
            let mut digits = [0u8; eg_spec::decimal::MAX_DIGITS];
            header(
                dst,
                b"content-length",
                eg_spec::decimal::digits(n, &mut digits),
            );
        }
        Framing::None
    } else {
        match body_len.or(given_length) {
            Some(n) => {
                let mut digits = [0u8; eg_spec::decimal::MAX_DIGITS];
                header(
                    dst,
                    b"content-length",
                    eg_spec::decimal::digits(n, &mut digits),
                );
                Framing::Length(n)
            }
            None if http10 => {
                keep_alive = false;
                Framing::Close
            }
            None => {
                header(dst, b"transfer-encoding", b"chunked");
                Framing::Chunked
            }
        }
    };

    if http10 {
        // An HTTP/1.0 connection stays open only when the answer says so.
        if keep_alive && !says_keep_alive {
            header(dst, b"connection", b"keep-alive");
        }
    } else if !keep_alive && !says_close {
        header(dst, b"connection", b"close");
    }
    if !wrote_date {
        dst.extend_from_slice(b"date: ");
        date::extend(dst);
        dst.extend_from_slice(b"\r\n");
    }
    dst.extend_from_slice(b"\r\n");
    Written {
        framing,
        keep_alive,
    }
}

/// The head of the `400 Bad Request` for a head that names no valid request.
pub(super) fn bad_request(dst: &mut Vec<u8>) {
    dst.extend_from_slice(
        b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\ndate: ",
    );
    date::extend(dst);
    dst.extend_from_slice(b"\r\n\r\n");
}

/// Appends one `name: value` line.
fn header(dst: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    dst.reserve(name.len() + value.len() + 4);
    dst.extend_from_slice(name);
    dst.extend_from_slice(b": ");
    dst.extend_from_slice(value);
    dst.extend_from_slice(b"\r\n");
}

/// A `Content-Length` value of digits only.
fn parse_length(v: &HeaderValue) -> Option<u64> {
    let v = v.as_bytes().trim_ascii();
    if v.is_empty() || v.len() > 19 || !v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(v.iter().fold(0u64, |n, &d| n * 10 + u64::from(d - b'0')))
}
