//! gRPC over HTTP/2, as far as a gateway needs it: status codes, the trailers-only answer,
//! `grpc-timeout`, and the 5-byte message framing.
//!
//! A gRPC call is an HTTP/2 `POST` to `/<package.Service>/<Method>` with
//! `content-type: application/grpc`; each message is a 1-byte compression flag, a 4-byte
//! big-endian length and the message; the call's outcome travels in the trailers
//! `grpc-status` and `grpc-message`, or in the response headers when there is no body
//! ("trailers-only").

use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use http::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE};
use http::StatusCode;

use crate::message::HttpResponse;

/// The content type of gRPC requests and responses.
pub const CONTENT_TYPE_GRPC: &str = "application/grpc";
/// The trailer with the call's status code.
pub const GRPC_STATUS: HeaderName = HeaderName::from_static("grpc-status");
/// The trailer with the status message (percent-encoded).
pub const GRPC_MESSAGE: HeaderName = HeaderName::from_static("grpc-message");
/// The request header with the call's deadline.
pub const GRPC_TIMEOUT: HeaderName = HeaderName::from_static("grpc-timeout");
/// Length of a message's frame header: compression flag and big-endian length.
pub const FRAME_HEADER_LEN: usize = 5;

/// gRPC status codes (`google.golang.org/grpc/codes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Code {
    /// Success.
    Ok = 0,
    /// The call was cancelled, typically by the caller.
    Cancelled = 1,
    /// Unknown error.
    Unknown = 2,
    /// The client gave an invalid argument.
    InvalidArgument = 3,
    /// The deadline expired before the call completed.
    DeadlineExceeded = 4,
    /// Some requested entity was not found.
    NotFound = 5,
    /// The entity already exists.
    AlreadyExists = 6,
    /// The caller may not execute the operation.
    PermissionDenied = 7,
    /// A resource has been exhausted.
    ResourceExhausted = 8,
    /// The system is not in a state required for the operation.
    FailedPrecondition = 9,
    /// The operation was aborted.
    Aborted = 10,
    /// The operation went past the valid range.
    OutOfRange = 11,
    /// The operation is not implemented.
    Unimplemented = 12,
    /// An internal error.
    Internal = 13,
    /// The service is currently unavailable.
    Unavailable = 14,
    /// Unrecoverable data loss.
    DataLoss = 15,
    /// The request lacks valid authentication credentials.
    Unauthenticated = 16,
}

impl Code {
    /// The decimal value sent in `grpc-status`.
    pub fn as_header(self) -> HeaderValue {
        HeaderValue::from(self as u8 as u16)
    }
}

/// Whether `headers` say this is a gRPC message (`application/grpc`, `application/grpc+…`
/// or `application/grpc;…`).
pub fn is_grpc(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.strip_prefix(CONTENT_TYPE_GRPC)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(['+', ';']))
        })
}

/// A trailers-only answer: HTTP 200 with `grpc-status` (and `grpc-message`) in the headers
/// and no body, as gRPC servers answer a call that fails before any message.
pub fn status_response(code: Code, message: &str) -> HttpResponse {
    let mut resp = HttpResponse::new(StatusCode::OK);
    set_status(&mut resp.headers, code, message);
    resp
}

/// Sets `content-type`, `grpc-status` and `grpc-message` in `headers`.
pub fn set_status(headers: &mut HeaderMap, code: Code, message: &str) {
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE_GRPC));
    headers.insert(GRPC_STATUS, code.as_header());
    if !message.is_empty() {
        if let Ok(v) = HeaderValue::from_str(&encode_message(message)) {
            headers.insert(GRPC_MESSAGE, v);
        }
    }
}

/// Percent-encodes a status message as the gRPC spec asks: everything outside printable
/// ASCII, and `%` itself.
pub fn encode_message(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    for b in message.bytes() {
        if (0x20..=0x7e).contains(&b) && b != b'%' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The deadline in a `grpc-timeout` value (`<up to 8 digits><H|M|S|m|u|n>`); `None` when
/// malformed.
pub fn parse_timeout(value: &HeaderValue) -> Option<Duration> {
    let v = value.to_str().ok()?;
    if v.len() < 2 || v.len() > 9 {
        return None;
    }
    let (digits, unit) = v.split_at(v.len() - 1);
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n.checked_mul(3600)?),
        "M" => Duration::from_secs(n.checked_mul(60)?),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

/// `d` as a `grpc-timeout` value, in the finest unit that fits eight digits.
pub fn encode_timeout(d: Duration) -> HeaderValue {
    const MAX: u128 = 99_999_999;
    let nanos = d.as_nanos();
    let (n, unit) = if nanos <= MAX {
        (nanos, 'n')
    } else if d.as_micros() <= MAX {
        (d.as_micros(), 'u')
    } else if d.as_millis() <= MAX {
        (d.as_millis(), 'm')
    } else if u128::from(d.as_secs()) <= MAX {
        (u128::from(d.as_secs()), 'S')
    } else {
        (u128::from(d.as_secs() / 3600).min(MAX), 'H')
    };
    HeaderValue::from_str(&format!("{n}{unit}")).unwrap_or(HeaderValue::from_static("99999999H"))
}

/// One message framed for the wire (uncompressed).
pub fn frame(message: &[u8]) -> Bytes {
    let mut b = BytesMut::with_capacity(FRAME_HEADER_LEN + message.len());
    b.put_u8(0);
    b.put_u32(message.len() as u32);
    b.put_slice(message);
    b.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_round_trip() {
        let p = |s: &'static str| parse_timeout(&HeaderValue::from_static(s));
        assert_eq!(p("100m"), Some(Duration::from_millis(100)));
        assert_eq!(p("2S"), Some(Duration::from_secs(2)));
        assert_eq!(p("1H"), Some(Duration::from_secs(3600)));
        assert_eq!(p("5u"), Some(Duration::from_micros(5)));
        assert_eq!(p("m"), None);
        assert_eq!(p("123456789S"), None);
        assert_eq!(p("10x"), None);
        assert_eq!(p("-1S"), None);
        for d in [
            Duration::from_millis(250),
            Duration::from_secs(30),
            Duration::from_nanos(7),
        ] {
            assert_eq!(parse_timeout(&encode_timeout(d)), Some(d));
        }
    }

    #[test]
    fn content_types_and_messages() {
        let mut h = HeaderMap::new();
        assert!(!is_grpc(&h));
        for (ct, yes) in [
            ("application/grpc", true),
            ("application/grpc+proto", true),
            ("application/grpcx", false),
            ("application/json", false),
        ] {
            h.insert(CONTENT_TYPE, HeaderValue::from_static(ct));
            assert_eq!(is_grpc(&h), yes, "{ct}");
        }
        assert_eq!(encode_message("a b%\n"), "a b%25%0A");
        let r = status_response(Code::NotFound, "no route");
        assert_eq!(r.headers[GRPC_STATUS], "5");
        assert_eq!(r.headers[GRPC_MESSAGE], "no route");
        assert_eq!(&frame(b"hi")[..], b"\0\0\0\0\x02hi");
    }
}
