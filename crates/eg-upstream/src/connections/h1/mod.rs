//! An HTTP/1.1 client connection driven by the task of the request that uses it.
//!
//! hyper's client runs every connection in a task of its own: a request is handed to that
//! task through a channel and its response comes back through another, so each proxied
//! request wakes a second task and crosses two queues. Here the request's own task writes
//! the request head (`encode.rs`), parses the answer's head with `httparse` (`decode.rs`)
//! and reads the body from the same socket (`body.rs`, `chunked.rs`); the connection goes
//! back to its [`HostPool`] when the body has been read to its end.
//!
//! The request is written whole before the answer is read, so this codec only carries
//! request bodies already in memory and at most [`MAX_WRITE_BEFORE_READ`] bytes: an upstream
//! that answers while it reads (an echo) cannot then block on an answer nobody reads yet,
//! because that much fits in the sockets' buffers. Larger and streamed request bodies go
//! through hyper, which reads while it writes.

mod body;
mod chunked;
mod decode;
mod encode;
#[cfg(test)]
mod tests;

use std::future::poll_fn;
use std::io;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use bytes::{Bytes, BytesMut};
use eg_protocols::socket::try_read_buf;
use eg_protocols::write::write_all;
use eg_protocols::Body;
use http::Response;
use tokio::io::Interest;
use tokio::net::TcpStream;

use self::body::ResponseBody;
use self::decode::{parse_head, Framing, Head};
pub use self::encode::{encode_head, RequestHead};
use super::host_pool::HostPool;

/// Largest request body sent by this codec; larger ones stream through hyper.
pub const MAX_WRITE_BEFORE_READ: u64 = 64 * 1024;
/// Largest response head (status line and headers) accepted, as hyper's default buffer.
pub const MAX_HEAD_BYTES: usize = 400 * 1024;
/// Most response headers accepted (hyper's default).
pub const MAX_HEADERS: usize = 100;
/// Read buffer a connection starts with and grows by.
const READ_CHUNK: usize = 8 * 1024;
/// A read buffer grown past this (by a streamed body) is not kept for the next answer.
const MAX_KEPT_READ_BUFFER: usize = 4 * READ_CHUNK;
/// A read is not attempted into less free room than this.
const MIN_READ_ROOM: usize = 1024;
/// Bodies of a known length up to this size are read whole before the response is handed
/// on (when the caller reads bodies whole anyway), arriving as one buffer; longer ones
/// stream.
const READ_WHOLE_BODY: u64 = 64 * 1024;
/// Room left after a body read into a buffer of its own, so that a read that brings
/// bytes past the body's end shows them (and the connection is not reused).
const STRAY_ROOM: usize = 64;
/// Request bodies up to this size are written in the same write as the head.
const COALESCE_BODY: usize = 16 * 1024;

/// Why an exchange failed.
#[derive(Debug)]
pub enum H1Error {
    /// The connection closed (or was reset) before any byte of an answer arrived: a kept-alive
    /// connection the server closed meanwhile, or a server that dropped the request.
    Closed(Option<io::Error>),
    /// Reading or writing failed otherwise.
    Io(io::Error),
    /// The answer is not valid HTTP/1.
    Invalid(&'static str),
    /// The response head is longer than [`MAX_HEAD_BYTES`].
    HeadTooLarge,
}

impl H1Error {
    /// Whether the request may be sent again on a new connection (nothing was answered).
    pub fn is_stale(&self) -> bool {
        matches!(self, H1Error::Closed(_))
    }

    /// An I/O error seen before any answer byte: the kinds of a closed connection count as
    /// [`H1Error::Closed`].
    fn before_answer(e: io::Error) -> H1Error {
        use io::ErrorKind::*;
        match e.kind() {
            ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof => {
                H1Error::Closed(Some(e))
            }
            _ => H1Error::Io(e),
        }
    }
}

impl std::fmt::Display for H1Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            H1Error::Closed(None) => f.write_str("connection closed before the response"),
            H1Error::Closed(Some(e)) => write!(f, "connection closed before the response: {e}"),
            H1Error::Io(e) => write!(f, "upstream connection: {e}"),
            H1Error::Invalid(what) => write!(f, "invalid response from the upstream: {what}"),
            H1Error::HeadTooLarge => write!(
                f,
                "response head from the upstream larger than {MAX_HEAD_BYTES} bytes"
            ),
        }
    }
}

impl std::error::Error for H1Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            H1Error::Closed(Some(e)) | H1Error::Io(e) => Some(e),
            _ => None,
        }
    }
}

/// One keep-alive connection to an upstream.
pub(crate) struct Conn {
    io: TcpStream,
    /// Bytes read and not consumed yet.
    rbuf: BytesMut,
    /// The request being written (kept for its capacity).
    wbuf: Vec<u8>,
}

impl Conn {
    /// A connection over a connected socket.
    pub(crate) fn new(io: TcpStream) -> Conn {
        Conn {
            io,
            rbuf: BytesMut::with_capacity(READ_CHUNK),
            wbuf: Vec::new(),
        }
    }

    /// Whether an idle connection can take a request: the server has neither closed it
    /// nor sent anything unasked. A quiet connection costs no system call and no lock:
    /// `try_read_buf` reads only when the socket's cached readiness (a plain load) says it
    /// is readable or closed. (`poll_read_ready` would take the socket's waiter lock to
    /// register a waker each time it is not ready.)
    pub(crate) fn is_usable(&mut self) -> bool {
        matches!(
            try_read_buf(&self.io, &mut self.rbuf),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock
        )
    }

    /// Forgets that the socket was readable, once the whole answer was read in the current
    /// poll: without it the next checkout ([`Conn::is_usable`]) and the next answer's first
    /// read would each try a read that finds nothing (one system call per request). What
    /// the server sends later raises a new event and is seen; a close is never missed,
    /// since tokio keeps the closed flag. Only stray bytes a broken server sends in the
    /// instant between the last read and this call, seen by another worker's driver,
    /// could go unnoticed until the next answer's parse.
    fn forget_readiness(&self) {
        let _ = self.io.try_io(Interest::READABLE, || {
            Err::<(), _>(io::ErrorKind::WouldBlock.into())
        });
    }

    /// Reads what the socket has into the buffer (0: the server closed the connection).
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        if self.rbuf.capacity() - self.rbuf.len() < MIN_READ_ROOM {
            self.rbuf.reserve(READ_CHUNK);
        }
        poll_read_into(&self.io, &mut self.rbuf, cx)
    }

    async fn fill(&mut self) -> io::Result<usize> {
        poll_fn(|cx| self.poll_fill(cx)).await
    }

    /// Reads more of a body whose end is still ahead: a close before it is an error.
    fn poll_fill_body(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), H1Error>> {
        Poll::Ready(body_read(ready!(self.poll_fill(cx))))
    }

    /// Sends a request with `body` (framed by the caller's headers or here) and reads the
    /// answer's head; the response body reads on from this connection and gives it back
    /// to `pool` at its end. `1xx` answers other than `101` are skipped. `read_whole`: the
    /// caller buffers the body, so a short one is read before the response is returned.
    pub(crate) async fn exchange(
        mut self,
        req: &(impl RequestHead + Sync),
        body: Bytes,
        read_whole: bool,
        pool: &Arc<HostPool>,
    ) -> Result<Response<Body>, H1Error> {
        self.rbuf.clear();
        if self.rbuf.try_reclaim(MAX_KEPT_READ_BUFFER + 1) {
            // Nothing else holds the buffer and it has room for more than this: it grew for
            // a streamed body and is not worth keeping for the answers to come.
            self.rbuf = BytesMut::with_capacity(READ_CHUNK);
        } else {
            // Back to the front of the buffer when no earlier answer holds a part of it any
            // more, so the connection reads into the same warm bytes instead of walking
            // through the whole buffer (with hundreds of connections, megabytes of cache
            // lines); otherwise reading goes on after the bytes still held.
            let _ = self.rbuf.try_reclaim(READ_CHUNK);
        }
        req.encode(body.len(), &mut self.wbuf);
        if body.len() <= COALESCE_BODY {
            self.wbuf.extend_from_slice(&body);
            write_all(&mut self.io, &self.wbuf).await
        } else {
            match write_all(&mut self.io, &self.wbuf).await {
                Ok(()) => write_all(&mut self.io, &body).await,
                e => e,
            }
        }
        .map_err(H1Error::before_answer)?;
        if self.wbuf.capacity() > 4 * COALESCE_BODY {
            self.wbuf = Vec::new();
        }

        let to_head = req.method() == http::Method::HEAD;
        let head = loop {
            // Nothing read yet (the usual first pass): nothing to parse.
            if !self.rbuf.is_empty() {
                match parse_head(&mut self.rbuf, to_head)? {
                    Some(head) if head.status.is_informational() && head.status.as_u16() != 101 => {
                        continue
                    }
                    Some(head) => break head,
                    None => {}
                }
            }
            let before = self.rbuf.len();
            match self.fill().await {
                Ok(0) if before == 0 => return Err(H1Error::Closed(None)),
                Ok(0) => return Err(H1Error::Invalid("connection closed inside the head")),
                Ok(_) => {}
                Err(e) if before == 0 => return Err(H1Error::before_answer(e)),
                Err(e) => return Err(H1Error::Io(e)),
            }
        };
        self.answer(head, read_whole, pool).await
    }

    /// The response of `head`, its body read whole when short and `read_whole`, else
    /// streaming.
    async fn answer(
        mut self,
        head: Head,
        read_whole: bool,
        pool: &Arc<HostPool>,
    ) -> Result<Response<Body>, H1Error> {
        let Head {
            status,
            version,
            headers,
            framing,
            keep_alive,
            event_stream,
        } = head;
        // The last bytes of a body read here came in this same poll of the request's
        // task (nothing yields after them), which is what `forget_readiness` needs.
        let body = match framing {
            Framing::None => {
                self.forget_readiness();
                self.done(keep_alive, pool);
                Body::Empty
            }
            Framing::Length(n) if read_whole && !event_stream && n <= READ_WHOLE_BODY => {
                let n = n as usize;
                // Already read, or fits the buffer with room to see stray bytes: read in
                // place; otherwise into a buffer of its own.
                let bytes = if self.rbuf.len() >= n || n + MIN_READ_ROOM <= self.rbuf.capacity() {
                    while self.rbuf.len() < n {
                        poll_fn(|cx| self.poll_fill_body(cx)).await?;
                    }
                    self.rbuf.split_to(n).freeze()
                } else {
                    self.read_body_apart(n).await?
                };
                self.forget_readiness();
                self.done(keep_alive, pool);
                Body::full(bytes)
            }
            framing => Body::Stream(http_body_util::combinators::UnsyncBoxBody::new(
                ResponseBody::new(self, framing, keep_alive, pool.clone()),
            )),
        };
        let mut resp = Response::new(body);
        *resp.status_mut() = status;
        *resp.version_mut() = version;
        *resp.headers_mut() = headers;
        Ok(resp)
    }

    /// Reads a body of `n` bytes that does not fit the read buffer into a buffer of its own,
    /// sized to it: growing the connection's buffer instead would keep that size for as long
    /// as the connection lives (with hundreds of connections, megabytes held for answers
    /// long gone). Bytes past the body stay in the read buffer, so the connection is not
    /// reused.
    async fn read_body_apart(&mut self, n: usize) -> Result<Bytes, H1Error> {
        let mut body = BytesMut::with_capacity(n + STRAY_ROOM);
        body.extend_from_slice(&self.rbuf);
        self.rbuf.clear();
        while body.len() < n {
            body_read(poll_fn(|cx| poll_read_into(&self.io, &mut body, cx)).await)?;
        }
        let bytes = body.split_to(n).freeze();
        self.rbuf.extend_from_slice(&body);
        Ok(bytes)
    }

    /// The answer was read whole: the connection goes back to `pool` when the server keeps
    /// it open and sent nothing more.
    fn done(self, keep_alive: bool, pool: &HostPool) {
        if keep_alive && self.rbuf.is_empty() {
            pool.put(self);
        }
    }
}

/// A read of a body whose end is still ahead: a close before it is an error.
fn body_read(read: io::Result<usize>) -> Result<(), H1Error> {
    match read {
        Ok(0) => Err(H1Error::Invalid("connection closed inside the body")),
        Ok(_) => Ok(()),
        Err(e) => Err(H1Error::Io(e)),
    }
}

/// Reads what `io` has into `buf`'s free room (0: the peer closed the connection).
fn poll_read_into(
    io: &TcpStream,
    buf: &mut BytesMut,
    cx: &mut Context<'_>,
) -> Poll<io::Result<usize>> {
    loop {
        ready!(io.poll_read_ready(cx))?;
        match try_read_buf(io, buf) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            r => return Poll::Ready(r),
        }
    }
}
