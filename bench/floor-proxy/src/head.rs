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

/// What a connection does next with what it has read of a message.
pub enum Next {
    /// Read more into the buffer (which has room for it).
    Read,
    /// Forward the buffer's first this many bytes.
    Forward(usize),
    /// The head is whole: read until the buffer (which has room for them) holds this many
    /// bytes, then forward them, without parsing the head again.
    ReadTo(usize),
    /// Close the client's connection.
    Close,
}

/// The next step for a request buffer.
pub fn next_request(buf: &mut Vec<u8>) -> Next {
    next(buf, request, REQUEST_ROOM)
}

/// The next step for an answer buffer (grown to hold the whole answer).
pub fn next_answer(buf: &mut Vec<u8>) -> Next {
    next(buf, answer, ANSWER_ROOM)
}

/// A connection's request buffer: its initial room, and what it grows by when full.
pub const REQUEST_ROOM: usize = 4 * 1024;
/// A connection's answer buffer: its initial room, and what it grows by when full.
pub const ANSWER_ROOM: usize = 32 * 1024;

fn next(buf: &mut Vec<u8>, parse: fn(&[u8]) -> Parsed, room: usize) -> Next {
    // Only a buffer with an empty line in it can hold a whole head.
    if memchr::memmem::find(buf, b"\r\n\r\n").is_some() {
        match parse(buf) {
            Parsed::Complete(n) if buf.len() >= n => return Next::Forward(n),
            Parsed::Complete(n) => {
                buf.reserve(n - buf.len());
                return Next::ReadTo(n);
            }
            Parsed::Refused => return Next::Close,
            Parsed::Partial => {}
        }
    }
    if buf.capacity() == buf.len() {
        buf.reserve(room);
    }
    Next::Read
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

    #[test]
    fn an_answer_buffer_grows_to_the_whole_answer() {
        let mut buf = b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\nxx".to_vec();
        assert!(matches!(next_answer(&mut buf), Next::ReadTo(100_043)));
        assert!(buf.capacity() >= 100_043);
        buf.resize(100_043, b'x');
        assert!(matches!(next_answer(&mut buf), Next::Forward(100_043)));
        let mut full = Vec::with_capacity(4);
        full.extend_from_slice(b"GET ");
        assert!(matches!(next_request(&mut full), Next::Read));
        assert!(full.capacity() > full.len());
    }
}
