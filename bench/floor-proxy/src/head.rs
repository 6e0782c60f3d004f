//! HTTP/1.1 heads, parsed as a proxy must: the request's to know where it ends, the
//! answer's to know how long its body is.

/// Request and answer heads longer than this are refused (the connection is closed).
pub const MAX_HEAD: usize = 16 * 1024;

/// Header lines parsed at most per head.
const MAX_HEADERS: usize = 64;

/// What a buffer holds so far.
pub enum Parsed {
    /// Not yet a whole head: read more.
    Partial,
    /// A whole message of this many bytes (head, and for an answer its body).
    Complete(usize),
    /// Not something this proxy forwards: close the connection.
    Refused,
}

/// A request without a body (the benchmark's `GET`s): its length once the head is whole.
pub fn request(buf: &[u8]) -> Parsed {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) if !has_body(req.headers) => Parsed::Complete(n),
        Ok(httparse::Status::Complete(_)) | Err(_) => Parsed::Refused,
        Ok(httparse::Status::Partial) if buf.len() >= MAX_HEAD => Parsed::Refused,
        Ok(httparse::Status::Partial) => Parsed::Partial,
    }
}

/// An answer with a `Content-Length` body: the length of head and body together.
pub fn answer(buf: &[u8]) -> Parsed {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut headers);
    match resp.parse(buf) {
        Ok(httparse::Status::Complete(n)) => match content_length(resp.headers) {
            Some(len) => Parsed::Complete(n + len),
            None => Parsed::Refused,
        },
        Ok(httparse::Status::Partial) if buf.len() >= MAX_HEAD => Parsed::Refused,
        Ok(httparse::Status::Partial) => Parsed::Partial,
        Err(_) => Parsed::Refused,
    }
}

fn has_body(headers: &[httparse::Header<'_>]) -> bool {
    headers.iter().any(|h| {
        h.name.eq_ignore_ascii_case("transfer-encoding")
            || (h.name.eq_ignore_ascii_case("content-length") && h.value != b"0")
    })
}

fn content_length(headers: &[httparse::Header<'_>]) -> Option<usize> {
    if headers
        .iter()
        .any(|h| h.name.eq_ignore_ascii_case("transfer-encoding"))
    {
        return None;
    }
    let h = headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("content-length"))?;
    std::str::from_utf8(h.value).ok()?.trim().parse().ok()
}

/// Whether `buf` may hold a whole head yet (cheaper than a parse that fails).
pub fn maybe_whole(buf: &[u8]) -> bool {
    memchr::memmem::find(buf, b"\r\n\r\n").is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_get_is_forwarded_once_whole() {
        assert!(matches!(
            request(b"GET / HTTP/1.1\r\nHost: a\r\n"),
            Parsed::Partial
        ));
        assert!(matches!(
            request(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"),
            Parsed::Complete(27)
        ));
        assert!(matches!(
            request(b"POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"),
            Parsed::Refused
        ));
    }

    #[test]
    fn an_answer_ends_after_its_content_length() {
        let a = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
        assert!(matches!(answer(a), Parsed::Complete(40)));
        assert!(matches!(
            answer(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"),
            Parsed::Refused
        ));
    }
}
