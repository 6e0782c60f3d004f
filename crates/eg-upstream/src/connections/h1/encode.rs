//! Writing a request head: `METHOD target HTTP/1.1`, the headers as they are, and the
//! framing of the body sent.

use http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
use http::request;

/// Writes the head of `req` for a body of `body_len` bytes into `out` (cleared first).
///
/// The target is the URI's path and query (origin form). Headers go out as they are,
/// except the framing, which is that of the body sent whole: one `Content-Length` with its
/// length (added when the body is not empty; an empty body gets none unless the caller set
/// one, as hyper does) and no `Transfer-Encoding`.
pub(super) fn encode_head(req: &request::Parts, body_len: usize, out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(req.method.as_str().as_bytes());
    out.push(b' ');
    let target = req.uri.path_and_query().map_or("/", |pq| pq.as_str());
    out.extend_from_slice(target.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    let mut has_length = false;
    for (name, value) in &req.headers {
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
