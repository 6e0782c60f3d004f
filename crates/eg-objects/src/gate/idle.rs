//! Idle HTTP/1 keep-alive connections without hyper's buffers.
//!
//! A hyper HTTP/1 connection holds an 8 KiB read buffer, an 8 KiB write buffer and the
//! heap slot of the service's future for as long as it lives, also while it waits for the
//! next request of a kept-alive connection. An HTTP/1 connection (plain or TLS) is
//! therefore taken back from hyper as soon as it is idle — its last response written and
//! flushed, nothing of a request in progress — and the gate's own codec serves it again;
//! hyper gets the stream back, with any bytes already read, when a request needs it.
//!
//! "Idle" is known from three signals: the service counts requests in and responses out
//! (a response is out when hyper drops its body: after the last byte was encoded), the
//! socket wrapper knows whether hyper wrote since its last flush (hyper flushes the socket
//! only once its own buffer is empty), and a request that announced a body keeps the
//! connection in hyper until the next one (hyper may still be reading or discarding it).

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use http_body::{Frame, SizeHint};
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};

/// What the service and the socket wrapper of one connection tell its serving loop.
#[derive(Debug, Default)]
pub(crate) struct Activity {
    /// Requests handed to the service whose response has not been written to the end.
    open: AtomicU32,
    /// Responses written to the end since hyper last got the socket.
    done: AtomicU32,
    /// Whether the last request announced a body.
    body: AtomicBool,
    /// Whether hyper wrote to the socket since it last flushed it.
    unflushed: AtomicBool,
}

impl Activity {
    /// A connection that has not served anything yet.
    pub fn new() -> Arc<Activity> {
        Arc::new(Activity::default())
    }

    /// Counts a request in; `has_body` is whether it announced a body.
    pub fn request(self: &Arc<Self>, has_body: bool) -> ResponseGuard {
        self.open.fetch_add(1, Ordering::Relaxed);
        self.body.store(has_body, Ordering::Relaxed);
        ResponseGuard(self.clone())
    }

    /// Whether hyper can let the connection go without losing anything: at least one
    /// response written and flushed since it got the socket, no request open, and the
    /// last request had no body.
    pub fn idle(&self) -> bool {
        self.open.load(Ordering::Relaxed) == 0
            && self.done.load(Ordering::Relaxed) > 0
            && !self.body.load(Ordering::Relaxed)
            && !self.unflushed.load(Ordering::Relaxed)
    }

    /// Whether a request is in the service (its response not written to the end).
    pub fn serving(&self) -> bool {
        self.open.load(Ordering::Relaxed) > 0
    }

    /// Whether hyper is reading a request head, or waiting for one it cannot let go of:
    /// no request open, nothing left to write, and not [`idle`](Self::idle) — no response
    /// since hyper got the socket (it got it because bytes came), or the last request had
    /// a body.
    pub fn reading_head(&self) -> bool {
        !self.serving() && !self.unflushed.load(Ordering::Relaxed) && !self.idle()
    }

    /// Responses written to the end since hyper last got the socket.
    pub fn responses(&self) -> u32 {
        self.done.load(Ordering::Relaxed)
    }

    /// Starts counting the responses of a new hyper connection.
    pub fn resumed(&self) {
        self.done.store(0, Ordering::Relaxed);
    }
}

/// Counts a response out when dropped.
#[derive(Debug)]
pub(crate) struct ResponseGuard(Arc<Activity>);

impl Drop for ResponseGuard {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::Relaxed);
        self.0.done.fetch_add(1, Ordering::Relaxed);
    }
}

/// A response body that counts its response out once hyper drops it.
pub(crate) struct Watched<B> {
    body: B,
    _guard: Option<ResponseGuard>,
}

impl<B> Watched<B> {
    /// `body`, counted out through `guard` (`None`: not counted).
    pub fn new(body: B, guard: Option<ResponseGuard>) -> Watched<B> {
        Watched {
            body,
            _guard: guard,
        }
    }
}

impl<B: http_body::Body + Unpin> http_body::Body for Watched<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// The stream of an HTTP/1 connection (a plain socket or a TLS stream) as hyper sees it:
/// reads first return the bytes hyper had read but not parsed when it last let the
/// connection go; writes and flushes are noted in the connection's [`Activity`].
pub(crate) struct ParkableIo<T> {
    io: TokioIo<T>,
    replay: Bytes,
    activity: Arc<Activity>,
}

impl<T> ParkableIo<T> {
    /// Wraps an accepted stream.
    pub fn new(stream: T, activity: Arc<Activity>) -> ParkableIo<T> {
        ParkableIo {
            io: TokioIo::new(stream),
            replay: Bytes::new(),
            activity,
        }
    }

    /// Hands `bytes` (read from the socket but not parsed) to the next reads.
    pub fn replay(&mut self, bytes: Bytes) {
        self.replay = bytes;
    }

    /// The stream, for reads and writes that bypass hyper.
    pub fn stream_mut(&mut self) -> &mut T {
        self.io.inner_mut()
    }
}

impl<T: AsyncRead + Unpin> Read for ParkableIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        if !self.replay.is_empty() {
            let n = self.replay.len().min(buf.remaining());
            buf.put_slice(&self.replay[..n]);
            self.replay.advance(n);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> Write for ParkableIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.activity.unflushed.store(true, Ordering::Relaxed);
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.activity.unflushed.store(true, Ordering::Relaxed);
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // hyper flushes the socket only when its own write buffer is empty.
        let r = Pin::new(&mut self.io).poll_flush(cx);
        if let Poll::Ready(Ok(())) = r {
            self.activity.unflushed.store(false, Ordering::Relaxed);
        }
        r
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}
