//! Gzip compression of upstream responses (`compression.minLength`).
//!
//! A response is compressed when the client accepts gzip (`Accept-Encoding` containing
//! `gzip` or `*/*`, or no `Accept-Encoding` at all), the response has no
//! `Content-Encoding` yet, has a body, and its length is unknown or at least `minLength`.
//! Compressed responses lose `Content-Length`, get `Content-Encoding: gzip` and
//! `Vary: Content-Encoding` (as Easegress sends it). Streamed bodies are compressed chunk by
//! chunk with a sync flush after each, so streamed events still arrive as they are sent.

use eg_protocols::content_length;
use http::header::{HeaderValue, ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_LENGTH, VARY};
use http::{HeaderMap, Method, StatusCode};

static GZIP: HeaderValue = HeaderValue::from_static("gzip");
static VARY_VALUE: HeaderValue = HeaderValue::from_static("Content-Encoding");

/// The compiled `compression` setting.
#[derive(Debug, Clone, Copy)]
pub struct Compression {
    /// Responses with a known length below this stay as they are.
    pub min_length: u64,
}

impl Compression {
    /// Whether the client takes gzip for this request (checked before the upstream call).
    pub fn client_accepts(method: &Method, req_headers: &HeaderMap) -> bool {
        method != Method::HEAD && accepts_gzip(req_headers)
    }

    /// Whether this response should be gzipped (the client accepting gzip).
    pub fn response_wanted(
        &self,
        status: StatusCode,
        resp_headers: &HeaderMap,
        known_len: Option<u64>,
    ) -> bool {
        if status.is_informational()
            || status == StatusCode::NO_CONTENT
            || status == StatusCode::NOT_MODIFIED
            || resp_headers.contains_key(CONTENT_ENCODING)
        {
            return false;
        }
        let len = known_len.or_else(|| content_length(resp_headers));
        match len {
            Some(0) => false,
            Some(n) => n >= self.min_length,
            None => true,
        }
    }

    /// Sets the headers of a gzipped response.
    pub fn mark(headers: &mut HeaderMap) {
        headers.remove(CONTENT_LENGTH);
        headers.insert(CONTENT_ENCODING, GZIP.clone());
        headers.append(VARY, VARY_VALUE.clone());
    }
}

fn accepts_gzip(h: &HeaderMap) -> bool {
    let mut values = h.get_all(ACCEPT_ENCODING).iter().peekable();
    if values.peek().is_none() {
        return true;
    }
    values.any(|v| {
        let b = v.as_bytes();
        contains(b, b"gzip") || contains(b, b"*/*")
    })
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}
