//! Message framing: making `Content-Length` and `Transfer-Encoding` agree with the body
//! that is actually sent.
//!
//! A message that arrived with both headers was decoded by its `Transfer-Encoding` (RFC 9112
//! §6.3: it overrides `Content-Length`), and a filter may have replaced a body without
//! touching its headers. Forwarding such headers unchanged lets the next hop read a
//! different body length than the one written, which desynchronises a kept-alive
//! connection (request smuggling, response splitting). [`fix_framing`] rewrites the framing
//! headers from the body itself; the HTTP/1 writer (hyper) then frames the body by its
//! `Content-Length`, or chunked when there is none.

use http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderValue, StatusCode};

/// The `Content-Length` a message's headers announce (the first value, surrounding spaces
/// allowed); `None` when absent or not a number.
pub fn content_length(headers: &HeaderMap) -> Option<u64> {
    parse_length(headers.get(CONTENT_LENGTH)?.as_bytes().trim_ascii())
}

/// A `Content-Length` value: one or more digits (RFC 9110 §8.6), no sign, no space, no
/// overflow. Read digit by digit: `str::parse` costs five times as much and would also
/// take a `+` sign.
pub fn parse_length(v: &[u8]) -> Option<u64> {
    if v.is_empty() {
        return None;
    }
    v.iter().try_fold(0u64, |n, &d| {
        if !d.is_ascii_digit() {
            return None;
        }
        n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

/// The message whose headers [`fix_framing`] rewrites.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    /// A request.
    Request,
    /// A response with `status`; `to_head` when it answers a `HEAD` request.
    Response {
        /// The response status.
        status: StatusCode,
        /// Whether the request was `HEAD`.
        to_head: bool,
    },
}

/// Rewrites the framing headers of a message that is about to be sent with a body of
/// `body_len` bytes (`None`: a stream of unknown length).
///
/// - `Transfer-Encoding` is removed: it belongs to one connection, and the writer chooses
///   the framing of the body it sends. When it was there, the message's `Content-Length`
///   was not what framed the body and is dropped too (RFC 9112 §6.1).
/// - A known length replaces every `Content-Length` value; a zero length adds none where
///   there was none (a `GET` stays without one). An unknown length removes
///   `Content-Length`, so the body goes chunked.
/// - Responses that carry no body whatever their headers say keep their length
///   information (RFC 9110 §8.6): the `Content-Length` of a `HEAD` answer or a `304` is
///   the length of the representation, not of this message, and stays unless
///   `Transfer-Encoding` came with it. `1xx` and `204` answers must not have one and lose
///   it.
///
/// Returns whether a `Content-Length` or `Transfer-Encoding` header was changed.
pub fn fix_framing(headers: &mut HeaderMap, kind: MessageKind, body_len: Option<u64>) -> bool {
    if already_framed(headers, kind, body_len) {
        return false;
    }
    rewrite_framing(headers, kind, body_len)
}

/// [`fix_framing`] without the scan for the usual case.
fn rewrite_framing(headers: &mut HeaderMap, kind: MessageKind, body_len: Option<u64>) -> bool {
    let had_te = headers.remove(TRANSFER_ENCODING).is_some();
    if let MessageKind::Response { status, to_head } = kind {
        if status.is_informational() || status == StatusCode::NO_CONTENT {
            return headers.remove(CONTENT_LENGTH).is_some() || had_te;
        }
        if to_head || status == StatusCode::NOT_MODIFIED {
            if had_te {
                headers.remove(CONTENT_LENGTH);
            }
            return had_te;
        }
    }
    match body_len {
        Some(0) if !headers.contains_key(CONTENT_LENGTH) => had_te,
        Some(n) => {
            let mut values = headers.get_all(CONTENT_LENGTH).iter();
            let already = match (values.next(), values.next()) {
                (Some(v), None) => parse_length(v.as_bytes()) == Some(n),
                _ => false,
            };
            if !already {
                headers.insert(CONTENT_LENGTH, HeaderValue::from(n));
            }
            had_te || !already
        }
        None => headers.remove(CONTENT_LENGTH).is_some() || had_te,
    }
}

/// Most headers a message may have for [`already_framed`] to scan them rather than look
/// the framing headers up.
const FRAMING_SCAN_LIMIT: usize = 24;

/// Whether a message's headers already frame a body of `body_len` bytes and
/// [`fix_framing`] would change nothing: the usual case, found in one scan over a short
/// map (comparing standard names is an integer compare) instead of two or three hashed
/// lookups. No `Transfer-Encoding`, and either the one `Content-Length` is the length of
/// the body, or there is none and the body is empty or of unknown length. `false` also
/// when the scan cannot tell: more than [`FRAMING_SCAN_LIMIT`] headers, or a status whose
/// framing has rules of its own (those take [`fix_framing`]'s full path).
pub fn already_framed(headers: &HeaderMap, kind: MessageKind, body_len: Option<u64>) -> bool {
    if let MessageKind::Response { status, to_head } = kind {
        if to_head
            || status.is_informational()
            || status == StatusCode::NO_CONTENT
            || status == StatusCode::NOT_MODIFIED
        {
            return false;
        }
    }
    if headers.len() > FRAMING_SCAN_LIMIT {
        return false;
    }
    let mut length: Option<&HeaderValue> = None;
    for (name, value) in headers {
        if name == TRANSFER_ENCODING || (name == CONTENT_LENGTH && length.replace(value).is_some())
        {
            return false;
        }
    }
    match (length, body_len) {
        (None, None | Some(0)) => true,
        (Some(v), Some(n)) => parse_length(v.as_bytes()) == Some(n),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: MessageKind = MessageKind::Response {
        status: StatusCode::OK,
        to_head: false,
    };
    const TO_HEAD: MessageKind = MessageKind::Response {
        status: StatusCode::OK,
        to_head: true,
    };
    const NOT_MODIFIED: MessageKind = MessageKind::Response {
        status: StatusCode::NOT_MODIFIED,
        to_head: false,
    };

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    fn lengths(h: &HeaderMap) -> Vec<&str> {
        h.get_all(CONTENT_LENGTH)
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect()
    }

    #[test]
    fn a_length_is_digits_that_fit_64_bits() {
        assert_eq!(parse_length(b"0"), Some(0));
        assert_eq!(parse_length(b"64"), Some(64));
        assert_eq!(parse_length(b"007"), Some(7));
        assert_eq!(parse_length(b"18446744073709551615"), Some(u64::MAX));
        for bad in [
            &b""[..],
            b"+5",
            b"-1",
            b" 5",
            b"5 ",
            b"0x10",
            b"1e3",
            b"18446744073709551616",
            b"99999999999999999999999",
        ] {
            assert_eq!(
                parse_length(bad),
                None,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn content_length_is_read_from_the_first_value() {
        let mut h = HeaderMap::new();
        assert_eq!(content_length(&h), None);
        h.insert(CONTENT_LENGTH, HeaderValue::from_static("12"));
        assert_eq!(content_length(&h), Some(12));
        h.insert(CONTENT_LENGTH, HeaderValue::from_static("-1"));
        assert_eq!(content_length(&h), None);
    }

    #[test]
    fn transfer_encoding_wins_over_content_length() {
        // Decoded chunked body, buffered: the real length.
        let mut h = headers(&[("content-length", "1"), ("transfer-encoding", "chunked")]);
        assert!(fix_framing(&mut h, OK, Some(5)));
        assert_eq!(lengths(&h), ["5"]);
        assert!(!h.contains_key(TRANSFER_ENCODING));
        // Still streaming: no length at all.
        let mut h = headers(&[("content-length", "1"), ("transfer-encoding", "chunked")]);
        assert!(fix_framing(&mut h, OK, None));
        assert!(h.is_empty());
        // Same for requests.
        let mut h = headers(&[("content-length", "3"), ("transfer-encoding", "chunked")]);
        assert!(fix_framing(&mut h, MessageKind::Request, None));
        assert!(h.is_empty());
    }

    #[test]
    fn known_lengths_replace_stale_ones() {
        let mut h = headers(&[("content-length", "1")]);
        assert!(fix_framing(&mut h, MessageKind::Request, Some(5)));
        assert_eq!(lengths(&h), ["5"]);
        let mut h = headers(&[("content-length", "5"), ("content-length", "7")]);
        assert!(fix_framing(&mut h, OK, Some(5)));
        assert_eq!(lengths(&h), ["5"]);
        let mut h = headers(&[("content-length", "5")]);
        assert!(!fix_framing(&mut h, OK, Some(5)));
        assert_eq!(lengths(&h), ["5"]);
        let mut h = headers(&[("content-length", "+5")]);
        assert!(fix_framing(&mut h, OK, Some(5)));
        assert_eq!(lengths(&h), ["5"]);
        let mut h = headers(&[]);
        assert!(fix_framing(&mut h, OK, Some(2)));
        assert_eq!(lengths(&h), ["2"]);
        // An emptied body.
        let mut h = headers(&[("content-length", "9")]);
        assert!(fix_framing(&mut h, MessageKind::Request, Some(0)));
        assert_eq!(lengths(&h), ["0"]);
    }

    #[test]
    fn empty_bodies_gain_no_length() {
        let mut h = headers(&[("x", "1")]);
        assert!(!fix_framing(&mut h, MessageKind::Request, Some(0)));
        assert!(!fix_framing(&mut h, OK, Some(0)));
        assert_eq!(h.len(), 1);
    }

    #[test]
    fn unknown_lengths_drop_content_length() {
        let mut h = headers(&[("content-length", "10")]);
        assert!(fix_framing(&mut h, OK, None));
        assert!(!h.contains_key(CONTENT_LENGTH));
        let mut h = headers(&[]);
        assert!(!fix_framing(&mut h, OK, None));
    }

    #[test]
    fn bodiless_responses_keep_the_representation_length() {
        for kind in [TO_HEAD, NOT_MODIFIED] {
            let mut h = headers(&[("content-length", "42")]);
            assert!(!fix_framing(&mut h, kind, Some(0)), "{kind:?}");
            assert_eq!(lengths(&h), ["42"], "{kind:?}");
            let mut h = headers(&[("content-length", "42"), ("transfer-encoding", "chunked")]);
            assert!(fix_framing(&mut h, kind, Some(0)), "{kind:?}");
            assert!(h.is_empty(), "{kind:?}");
        }
    }

    #[test]
    fn no_content_and_informational_answers_have_no_length() {
        for status in [StatusCode::NO_CONTENT, StatusCode::CONTINUE] {
            let kind = MessageKind::Response {
                status,
                to_head: false,
            };
            let mut h = headers(&[("content-length", "0")]);
            assert!(fix_framing(&mut h, kind, Some(0)));
            assert!(h.is_empty());
        }
    }

    #[test]
    fn the_quick_check_agrees_with_the_rewrite() {
        let sets: [&[(&'static str, &'static str)]; 8] = [
            &[],
            &[("content-length", "5")],
            &[("content-length", "0")],
            &[("content-length", "5"), ("content-length", "5")],
            &[("content-length", "+5")],
            &[("transfer-encoding", "chunked")],
            &[("x-a", "1"), ("content-length", "7"), ("x-b", "2")],
            &[("host", "a"), ("connection", "keep-alive")],
        ];
        let kinds = [
            MessageKind::Request,
            OK,
            TO_HEAD,
            NOT_MODIFIED,
            MessageKind::Response {
                status: StatusCode::NO_CONTENT,
                to_head: false,
            },
        ];
        for set in sets {
            for kind in kinds {
                for len in [None, Some(0), Some(5), Some(7)] {
                    let h = headers(set);
                    let mut rewritten = h.clone();
                    let changed = rewrite_framing(&mut rewritten, kind, len);
                    if already_framed(&h, kind, len) {
                        assert!(!changed, "{set:?} {kind:?} {len:?}");
                        assert_eq!(rewritten, h, "{set:?} {kind:?} {len:?}");
                    }
                    let mut fixed = h.clone();
                    assert_eq!(fix_framing(&mut fixed, kind, len), changed);
                    assert_eq!(fixed, rewritten, "{set:?} {kind:?} {len:?}");
                }
            }
        }
        // The quick check does find the usual cases.
        assert!(already_framed(
            &headers(&[("content-length", "5")]),
            OK,
            Some(5)
        ));
        assert!(already_framed(&headers(&[]), MessageKind::Request, Some(0)));
        assert!(already_framed(&headers(&[("x-a", "1")]), OK, None));
    }
}
