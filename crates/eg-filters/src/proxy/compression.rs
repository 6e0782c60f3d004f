//! Gzip compression of upstream responses (`compression.minLength`).
//!
//! A response is compressed when the client accepts gzip (`Accept-Encoding` containing
//! `gzip` or `*/*`, or no `Accept-Encoding` at all), the response has no
//! `Content-Encoding` yet, has a body, and its length is unknown or at least `minLength`.
//! Compressed responses lose `Content-Length`, get `Content-Encoding: gzip` and
//! `Vary: Content-Encoding` (as Easegress sends it). Streamed bodies are compressed chunk by
//! chunk with a sync flush after each, so streamed events still arrive as they are sent.

use std::io::Write as _;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use bytes::Bytes;
use eg_protocols::{Body, BodyError};
use flate2::write::GzEncoder;
use flate2::Compression as Level;
use http::header::{HeaderValue, ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_LENGTH, VARY};
use http::{HeaderMap, Method, StatusCode};
use http_body::Frame;

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
        let len = known_len.or_else(|| {
            resp_headers
                .get(CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok())
        });
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

/// Gzips a whole buffered body.
pub fn gzip_bytes(data: &[u8]) -> Result<Bytes, BodyError> {
    let mut enc = GzEncoder::new(Vec::with_capacity(data.len() / 2 + 32), Level::default());
    enc.write_all(data)
        .map_err(|e| BodyError::Io(e.to_string()))?;
    enc.finish()
        .map(Bytes::from)
        .map_err(|e| BodyError::Io(e.to_string()))
}

/// A body gzipping another as it streams.
pub struct GzipBody {
    inner: Body,
    enc: Option<GzEncoder<Vec<u8>>>,
}

impl GzipBody {
    /// Wraps `inner`.
    pub fn new(inner: Body) -> GzipBody {
        GzipBody {
            inner,
            enc: Some(GzEncoder::new(Vec::new(), Level::default())),
        }
    }

    /// As a [`Body`].
    pub fn into_body(self) -> Body {
        Body::Stream(http_body_util::combinators::UnsyncBoxBody::new(self))
    }
}

impl http_body::Body for GzipBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = self.get_mut();
        loop {
            let Some(enc) = this.enc.as_mut() else {
                return Poll::Ready(None);
            };
            match Pin::new(&mut this.inner).poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                Poll::Ready(Some(Ok(frame))) => {
                    let Ok(data) = frame.into_data() else {
                        continue; // trailers are dropped
                    };
                    let io = |e: std::io::Error| BodyError::Io(e.to_string());
                    if let Err(e) = enc.write_all(&data).and_then(|_| enc.flush()) {
                        return Poll::Ready(Some(Err(io(e))));
                    }
                    let out = std::mem::take(enc.get_mut());
                    if !out.is_empty() {
                        return Poll::Ready(Some(Ok(Frame::data(Bytes::from(out)))));
                    }
                }
                Poll::Ready(None) => {
                    let Some(enc) = this.enc.take() else {
                        return Poll::Ready(None);
                    };
                    return match enc.finish() {
                        Ok(out) if out.is_empty() => Poll::Ready(None),
                        Ok(out) => Poll::Ready(Some(Ok(Frame::data(Bytes::from(out))))),
                        Err(e) => Poll::Ready(Some(Err(BodyError::Io(e.to_string())))),
                    };
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.enc.is_none()
    }
}
