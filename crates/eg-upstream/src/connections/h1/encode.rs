//! Writing a request head: `METHOD target HTTP/1.1`, the headers as they are, and the
//! framing of the body sent.

use http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
use http::{request, HeaderName, HeaderValue, Method};

/// A request head that a [`HostPool`](crate::connections::HostPool) connection writes.
///
/// [`request::Parts`] is one; a proxy can write the head it forwards straight from the
/// client's request instead, without building (and copying the headers into) a request
/// of its own.
pub trait RequestHead {
    /// The request's method (the answer to a `HEAD` has no body).
    fn method(&self) -> &Method;

    /// Writes the head for a body of `body_len` bytes into `out` (cleared first), with
    /// [`encode_head`].
    fn encode(&self, body_len: usize, out: &mut Vec<u8>);
}

impl RequestHead for request::Parts {
    fn method(&self) -> &Method {
        &self.method
    }

    fn encode(&self, body_len: usize, out: &mut Vec<u8>) {
        let target = self.uri.path_and_query().map_or("/", |pq| pq.as_str());
        encode_head(
            &self.method,
            &[target.as_bytes()],
            &self.headers,
            body_len,
            out,
        );
    }
}

/// Writes a request head for a body of `body_len` bytes into `out` (cleared first).
///
/// The target is the concatenation of `target`'s parts (origin form: a path prefix and
/// the request's path and query, say). Headers go out as they are, in order, except the
/// framing, which is that of the body sent whole: one `Content-Length` with its length
/// (added when the body is not empty; an empty body gets none unless the headers have one,
/// as hyper does) and no `Transfer-Encoding`.
pub fn encode_head<'h>(
    method: &Method,
    target: &[&[u8]],
    headers: impl IntoIterator<Item = (&'h HeaderName, &'h HeaderValue)>,
    body_len: usize,
    out: &mut Vec<u8>,
) {
    out.clear();
    out.extend_from_slice(method.as_str().as_bytes());
    out.push(b' ');
    for part in target {
        out.extend_from_slice(part);
    }
    out.extend_from_slice(b" HTTP/1.1\r\n");
    let mut has_length = false;
    for (name, value) in headers {
        if name == TRANSFER_ENCODING {
            continue;
        }
        if name == CONTENT_LENGTH {
            if !has_length {
                has_length = true;
                push_length(out, body_len);
            }
            continue;
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if !has_length && body_len > 0 {
        push_length(out, body_len);
    }
    out.extend_from_slice(b"\r\n");
}

fn push_length(out: &mut Vec<u8>, n: usize) {
    out.extend_from_slice(b"content-length: ");
    let mut digits = [0u8; eg_spec::decimal::MAX_DIGITS];
    out.extend_from_slice(eg_spec::decimal::digits(n as u64, &mut digits));
    out.extend_from_slice(b"\r\n");
}
