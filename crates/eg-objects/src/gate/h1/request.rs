//! Reading a request head: which requests the gate's own HTTP/1.1 codec serves, and the
//! `http::Request` it hands to the gate.

use std::mem::MaybeUninit;

use bytes::BytesMut;
use eg_protocols::spans::{HeaderSpans, Span};
use eg_protocols::{Body, ConnectionOptions};
use http::{HeaderValue, Method, Request, Uri, Version};

/// Most headers a request head may have here; more go to hyper, which answers 431.
const MAX_HEADERS: usize = 100;

/// Room for headers the pipeline adds to the request's own (a RequestAdaptor's `set` or
/// `add`, a Validator's or a signer's): a map filled to its capacity would move to a table
/// twice its size for the first one, reallocating and rehashing every name.
pub(super) const ADDED_HEADERS_ROOM: usize = 4;

/// The longest request head read here; a longer one (a long URI, large cookies) goes to
/// hyper, whose limit is larger.
pub(super) const MAX_HEAD_BYTES: usize = 8 * 1024;

/// What the connection must know of a request to answer it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Exchange {
    /// The request's version; the answer is sent in it.
    pub version: Version,
    /// The request was `HEAD`: the answer has no body whatever its headers say.
    pub to_head: bool,
    /// The client lets the connection carry another request after this one: HTTP/1.1
    /// without `Connection: close`, HTTP/1.0 with `Connection: keep-alive`.
    pub keep_alive: bool,
}

/// The outcome of reading the bytes at the start of a connection's buffer.
// Not boxed: the request goes straight to the handler, and a box would cost an
// allocation per request.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub(super) enum Parsed {
    /// A whole head of a request without a body, taken out of the buffer.
    Request(Request<Body>, Exchange),
    /// The head is not complete yet.
    Partial,
    /// A whole head that names no valid request (a target or a header the `http` types
    /// refuse): answered 400 and the connection closed.
    Malformed,
    /// A head this codec leaves to hyper, untouched in the buffer: a request with a body,
    /// `Expect`, `TE` or an upgrade, `CONNECT`, a target not in origin form (`*`,
    /// absolute-form), too many headers or a malformed head (hyper answers its error).
    Elsewhere,
}

/// Reads the request head at the start of `buf`.
pub(super) fn parse(buf: &mut BytesMut) -> Parsed {
    // Left uninitialised (no memset per request); httparse writes what it parses.
    let mut raw = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut []);
    let len = match httparse::ParserConfig::default()
        .parse_request_with_uninit_headers(&mut req, buf, &mut raw)
    {
        Ok(httparse::Status::Complete(n)) if n <= MAX_HEAD_BYTES => n,
        Ok(httparse::Status::Partial) if buf.len() < MAX_HEAD_BYTES => return Parsed::Partial,
        _ => return Parsed::Elsewhere,
    };
    let (Some(method), Some(path), Some(minor)) = (req.method, req.path, req.version) else {
        return Parsed::Elsewhere;
    };
    if !path.starts_with('/') {
        return Parsed::Elsewhere;
    }
    let Ok(method) = Method::from_bytes(method.as_bytes()) else {
        return Parsed::Elsewhere;
    };
    if method == Method::CONNECT {
        return Parsed::Elsewhere;
    }
    let version = if minor == 0 {
        Version::HTTP_10
    } else {
        Version::HTTP_11
    };
    // The headers that decide whether this codec serves the request, by their bytes.
    let (mut close, mut keep) = (false, false);
    for h in req.headers.iter() {
        let name = h.name.as_bytes();
        if name.eq_ignore_ascii_case(b"content-length") {
            // Only an empty body is read here.
            if h.value.trim_ascii() != b"0" {
                return Parsed::Elsewhere;
            }
        } else if name.eq_ignore_ascii_case(b"transfer-encoding")
            || name.eq_ignore_ascii_case(b"expect")
            || name.eq_ignore_ascii_case(b"upgrade")
            || name.eq_ignore_ascii_case(b"te")
        {
            return Parsed::Elsewhere;
        } else if name.eq_ignore_ascii_case(b"connection") {
            let says = ConnectionOptions::of(h.value);
            if says.upgrade {
                return Parsed::Elsewhere;
            }
            close |= says.close;
            keep |= says.keep_alive;
        }
    }
    // Where the target and the headers sit: they become views of the head, which is split
    // off the buffer next.
    let target = Span::of(buf, path.as_bytes());
    let mut spans = HeaderSpans::new();
    spans.note(
        buf,
        req.headers.iter().map(|h| (h.name.as_bytes(), h.value)),
    );
    let head = buf.split_to(len).freeze();
    // From here the head is out of the buffer: what the `http` types refuse of what
    // httparse took is answered 400 here, as hyper does.
    let Ok(uri) = Uri::from_maybe_shared(head.slice(target.range())) else {
        return Parsed::Malformed;
    };
    // Built in the request's own map: one filled aside and moved in would be copied, and
    // the empty map it replaced dropped.
    let mut request = Request::new(Body::Empty);
    let headers = request.headers_mut();
    headers.reserve(spans.len() + ADDED_HEADERS_ROOM);
    for (name, value) in spans.iter() {
        let Ok(name) = eg_protocols::header_name(&head[name]) else {
            return Parsed::Malformed;
        };
        headers.append(name, parsed_value(head.slice(value)));
    }
    let keep_alive = match version {
        Version::HTTP_10 => keep && !close,
        _ => !close,
    };
    let exchange = Exchange {
        version,
        to_head: method == Method::HEAD,
        keep_alive,
    };
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    *request.version_mut() = version;
    Parsed::Request(request, exchange)
}

/// A header value httparse took from the head [`parse`] read.
///
/// `HeaderValue::from_maybe_shared` would check every byte again (about four instructions
/// a byte: a browser's headers are half a kilobyte); httparse has already refused any other.
#[allow(unsafe_code)]
fn parsed_value(value: bytes::Bytes) -> HeaderValue {
    // SAFETY: `from_maybe_shared_unchecked` asks for bytes `HeaderValue` accepts: HTAB,
    // 0x20..=0x7E and 0x80..=0xFF. `value` is a view of the head `parse` split off its
    // buffer unchanged right after httparse parsed it (the buffer is borrowed mutably for
    // the whole of `parse`, so nothing else writes to it), at the place httparse reported
    // a header value. With its default configuration (no obsolete line folding, no
    // tolerance of invalid header lines) httparse ends a value at CR or LF and fails the
    // head on any other byte outside HTAB, 0x20..=0x7E and 0x80..=0xFF, so the view holds
    // only accepted bytes. Debug builds check it again (`http` validates there) and the
    // module's tests feed it tabs, obs-text and control bytes.
    unsafe { HeaderValue::from_maybe_shared_unchecked(value) }
}
