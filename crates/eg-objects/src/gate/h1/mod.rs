//! The gate's own HTTP/1.1 server codec, for plain connections and TLS ones that
//! negotiated HTTP/1.1 (not h2c, not HTTP/2).
//!
//! Most requests a gateway serves have no body: `GET`, `HEAD`, `DELETE`, an empty `POST`.
//! This codec reads their heads with httparse, hands them to the gate and writes the
//! answers itself — a head and a short body in one `write` — without hyper's dispatcher,
//! which costs about a third of a proxied request's instructions. Everything else goes to
//! hyper on the same socket, with the bytes already read: a request with a body, `Expect`,
//! an upgrade (WebSocket), `CONNECT`, a target not in origin form, a head longer than
//! [`MAX_HEAD_BYTES`](request::MAX_HEAD_BYTES) or one httparse refuses (hyper answers the error). Once hyper has
//! answered and the connection is idle, the listener takes it back here
//! ([`Conn::resume`]).
//!
//! An answer is the one hyper would write ([`response::encode_head`]): the same framing,
//! `Connection` and `Date` rules, in the request's version. Pipelined requests are served
//! in order from the buffer. A client that closes its connection while its request is
//! served cancels it: the handler, and whatever upstream request it waits for, is dropped,
//! as hyper does. The waits are bounded as in hyper's path: the first request
//! head within the first-byte deadline from accept; a later one must start within the idle
//! timeout (`keepAliveTimeout`) of the last answer and, once begun, end within the same
//! time. While a
//! connection waits, only the socket and a few words are kept: its buffers are let go at
//! the first idle sweep.
//!
//! The codec reads and writes through a [`Transport`]: a plain socket, or a TLS stream
//! over one ([`TlsTransport`]), whose requests carry the client's TLS marks as hyper's
//! would.

mod date;
mod request;
mod response;
#[cfg(test)]
mod tests;
mod transport;

pub(crate) use transport::{TlsTransport, Transport};

use std::future::Future;
use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::pin::{pin, Pin};
use std::sync::atomic::Ordering;
use std::task::Poll;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use http::header::CONNECTION;
use http::HeaderValue;
use http_body::Body as _;
use tokio::io::AsyncWriteExt;

use super::listener::{CatchUnwind, ConnDrain, Gate, Phase, Shared};
use super::sweep::{IdleSweep, SweepWatch};
use request::{Exchange, Parsed};
use response::Framing;

/// Size of a connection's read buffer.
const READ_BUFFER: usize = 8 * 1024;
/// Least free room in the read buffer for a read; with less, it is reclaimed or grown.
const MIN_READ_ROOM: usize = 1024;
/// Body bytes up to this many go out in the same `write` as what precedes them; a longer
/// frame is written from its own buffer (vectored), never copied.
const COALESCE_LIMIT: usize = 16 * 1024;

/// How the codec let a connection go.
pub(super) enum Outcome {
    /// The connection is closed or is to be.
    Ended,
    /// The next request is hyper's: these bytes are its start.
    Elsewhere(Bytes),
}

/// The settings of the listener the codec serves for; the listener keeps them for all its
/// connections, which refer to them.
pub(super) struct Settings {
    /// HTTP/1 keep-alive.
    pub(super) keep_alive: bool,
    /// How long a connection may wait for its next request (`None`: no limit).
    pub(super) idle_timeout: Option<Duration>,
    /// Ticks every [`IDLE_SWEEP`](super::listener): a connection waiting when it ticks lets
    /// its buffers go, and one hyper serves goes back to the codec once idle.
    pub(super) idle_sweep: IdleSweep,
}

/// The codec's state of one connection.
pub(super) struct Conn {
    /// Bytes read and not yet parsed.
    buf: BytesMut,
    /// An answer's head (and short body) on its way out.
    out: Vec<u8>,
    /// When the wait for the next request, or for the rest of its head, began; `None`: it
    /// begins at the next wait (read off the clock only when a wait comes).
    waiting_since: Option<Instant>,
    /// Whether an answer was written (the first head is counted from accept).
    answered: bool,
    /// How long that wait may last (`None`: no limit).
    wait_limit: Option<Duration>,
}

impl Conn {
    /// A connection accepted at `accepted`, whose first request may take `first_byte`.
    pub(super) fn new(accepted: Instant, first_byte: Duration) -> Conn {
        Conn {
            buf: BytesMut::new(),
            out: Vec::new(),
            waiting_since: Some(accepted),
            answered: false,
            wait_limit: Some(first_byte),
        }
    }

    /// Takes a connection back from hyper, with the bytes hyper read and did not parse.
    pub(super) fn resume(&mut self, unparsed: &[u8], idle_timeout: Option<Duration>) {
        self.buf.extend_from_slice(unparsed);
        self.waiting_since = None;
        self.answered = true;
        self.wait_limit = idle_timeout;
    }

    /// Serves requests on `stream` until the connection ends or a request is hyper's.
    ///
    /// Not an `async fn`: one keeps each argument twice in its future, as the argument and
    /// as the local it is moved into, and this future is in every connection's task. For
    /// the same reason `peer` is borrowed from the connection's future, which has it.
    #[allow(
        clippy::manual_async_fn,
        reason = "an async fn's future keeps its arguments twice"
    )]
    pub(super) fn serve<'a, M: Gate, S: Transport>(
        &'a mut self,
        stream: &'a mut S,
        shared: &'a Shared<M>,
        peer: &'a SocketAddr,
        settings: &'a Settings,
        drain: &'a ConnDrain,
    ) -> impl Future<Output = Outcome> + 'a {
        async move {
            let draining = drain.closing.clone();
            // Registered by its first poll; polled again only once the drain has begun.
            let mut closing = pin!(drain.reached(Phase::Closing));
            let mut closing_registered = false;
            // Registered with the idle sweep by the first wait, and kept across requests.
            let registration = pin!(settings.idle_sweep.notified());
            let mut sweep = SweepWatch::new(&settings.idle_sweep, registration);
            loop {
                let mut malformed = false;
                // Every whole request in the buffer first: a client may pipeline.
                while !self.buf.is_empty() {
                    let (req, exchange) = match request::parse(&mut self.buf) {
                        Parsed::Request(mut req, exchange) => {
                            stream.annotate(&mut req);
                            (req, exchange)
                        }
                        Parsed::Partial => break,
                        Parsed::Elsewhere => return Outcome::Elsewhere(self.buf.split().freeze()),
                        // Answered after the loop: an `.await` in this arm would keep the
                        // parse result, a request's size, in every state of this future, also
                        // while the connection waits.
                        Parsed::Malformed => {
                            malformed = true;
                            break;
                        }
                    };
                    let drain_begun = draining.load(Ordering::Acquire);
                    let keep_alive = settings.keep_alive && exchange.keep_alive && !drain_begun;
                    // Boxed: the handler's future is kilobytes, and a connection waiting for
                    // its next request should not carry its room. Built in its box, here, so
                    // that the request goes into it straight from the parser rather than
                    // through the answer's state first.
                    let gate = shared.mux.load_full();
                    let handled =
                        Box::into_pin(eg_protocols::boxed_in_place!(gate.handle(req, *peer)));
                    // Boxed too, for the same reason: the state of an answer on its way out
                    // (the response, its body and what the access log will record).
                    let answering = eg_protocols::boxed_in_place!(self.answer::<M, _, _>(
                        stream,
                        handled,
                        *peer,
                        exchange,
                        keep_alive,
                        drain_begun
                    ));
                    let kept = Box::into_pin(answering).await;
                    if !kept {
                        let _ = stream.shutdown().await;
                        return Outcome::Ended;
                    }
                    self.waiting_since = None;
                    self.answered = true;
                    self.wait_limit = settings.idle_timeout;
                }
                if malformed {
                    tracing::debug!(%peer, "malformed request head; answered 400");
                    self.out.clear();
                    response::bad_request(&mut self.out);
                    let _ = Transport::write_all(stream, &self.out).await;
                    let _ = stream.shutdown().await;
                    return Outcome::Ended;
                }
                // More bytes.
                if self.buf.is_empty() {
                    // Back to the front of the buffer once no request holds a part of it: the
                    // next head is read into the same warm bytes, not the next ones along.
                    let _ = self.buf.try_reclaim(READ_BUFFER);
                }
                if self.buf.capacity() - self.buf.len() < MIN_READ_ROOM {
                    self.buf.reserve(READ_BUFFER);
                }
                let head_begins = self.buf.is_empty() && self.answered;
                match stream.read_available(&mut self.buf) {
                    Ok(0) => return Outcome::Ended,
                    Ok(_) => {
                        // A new head has its own deadline, from when it has to be waited for.
                        if head_begins {
                            self.waiting_since = None;
                        }
                        continue;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(_) => return Outcome::Ended,
                }
                let woke = self
                    .wait(
                        stream,
                        &mut sweep,
                        &draining,
                        closing.as_mut(),
                        &mut closing_registered,
                    )
                    .await;
                if !woke {
                    if !self.buf.is_empty() {
                        tracing::debug!(
                            %peer,
                            "request head unfinished within the deadline; closing"
                        );
                    } else {
                        tracing::debug!(%peer, "no request within the deadline; closing");
                    }
                    return Outcome::Ended;
                }
            }
        }
    }

    /// Answers one request, served by `handled` (the gate's handler of it); returns
    /// whether the connection carries another.
    async fn answer<M: Gate, S: Transport, F: Future<Output = http::Response<M::Body>>>(
        &mut self,
        stream: &mut S,
        mut handled: Pin<Box<F>>,
        peer: SocketAddr,
        exchange: Exchange,
        keep_alive: bool,
        drain_begun: bool,
    ) -> bool {
        let mut caught = CatchUnwind {
            inner: handled.as_mut(),
        };
        let served = std::future::poll_fn(|cx| match Pin::new(&mut caught).poll(cx) {
            Poll::Ready(r) => Poll::Ready(Some(r)),
            Poll::Pending if self.poll_client_gone(stream, cx) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        })
        .await;
        let mut resp = match served {
            Some(Ok(resp)) => resp,
            Some(Err(_)) => {
                tracing::error!(%peer, "a request handler panicked; answered 500");
                M::internal_error()
            }
            None => {
                // The handler is dropped: whatever it waits for (an upstream) is let go.
                tracing::debug!(%peer, "client closed the connection; request abandoned");
                return false;
            }
        };
        drop(handled);
        if drain_begun {
            resp.headers_mut()
                .insert(CONNECTION, HeaderValue::from_static("close"));
        }
        let (parts, mut body) = resp.into_parts();
        let body_len = if body.is_end_stream() {
            Some(0)
        } else {
            body.size_hint().exact()
        };
        self.out.clear();
        let written = response::encode_head(
            &mut self.out,
            parts.status,
            &parts.headers,
            body_len,
            exchange,
            keep_alive,
        );
        drop(parts);
        let whole = match self.send_body(stream, &mut body, written.framing).await {
            Ok(whole) => whole,
            Err(e) => {
                tracing::debug!(%peer, error = %e, "writing the answer failed");
                false
            }
        };
        written.keep_alive && whole
    }

    /// Writes the head in `out` and the body after it, framed as `framing`. `Ok(false)`:
    /// the body did not end as its framing said (an error, or shorter or longer than its
    /// length), so the connection cannot carry another request.
    async fn send_body<B, S: Transport>(
        &mut self,
        stream: &mut S,
        body: &mut B,
        framing: Framing,
    ) -> io::Result<bool>
    where
        B: http_body::Body<Data = Bytes> + Unpin,
    {
        if framing == Framing::None {
            Transport::write_all(stream, &self.out).await?;
            return Ok(true);
        }
        let mut left = match framing {
            Framing::Length(n) => n,
            _ => u64::MAX,
        };
        let mut whole = true;
        loop {
            // The next frame if it is there now; what is pending goes out before a wait.
            let next =
                match std::future::poll_fn(|cx| Poll::Ready(Pin::new(&mut *body).poll_frame(cx)))
                    .await
                {
                    Poll::Ready(next) => next,
                    Poll::Pending => {
                        if !self.out.is_empty() {
                            Transport::write_all(stream, &self.out).await?;
                            self.out.clear();
                        }
                        let next =
                            std::future::poll_fn(|cx| match Pin::new(&mut *body).poll_frame(cx) {
                                Poll::Ready(next) => Poll::Ready(Some(next)),
                                Poll::Pending if self.poll_client_gone(stream, cx) => {
                                    Poll::Ready(None)
                                }
                                Poll::Pending => Poll::Pending,
                            })
                            .await;
                        match next {
                            Some(next) => next,
                            // Nobody is left to read the rest (an event stream, say).
                            None => return Ok(false),
                        }
                    }
                };
            let mut data = match next {
                None => break,
                Some(Err(_)) => {
                    whole = false;
                    break;
                }
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => data,
                    // Trailers are not sent on HTTP/1 here, as hyper does unless asked.
                    Err(_) => continue,
                },
            };
            if data.is_empty() {
                continue;
            }
            match framing {
                Framing::Length(_) => {
                    if data.len() as u64 > left {
                        data.truncate(left as usize);
                        whole = false;
                    }
                    left -= data.len() as u64;
                }
                Framing::Chunked => {
                    chunk_size_line(&mut self.out, data.len());
                }
                _ => {}
            }
            if self.out.len() + data.len() <= COALESCE_LIMIT {
                self.out.extend_from_slice(&data);
            } else {
                write_both(stream, &self.out, &data).await?;
                self.out.clear();
            }
            if framing == Framing::Chunked {
                self.out.extend_from_slice(b"\r\n");
            }
            if !whole {
                break;
            }
        }
        match framing {
            Framing::Chunked if whole => self.out.extend_from_slice(b"0\r\n\r\n"),
            Framing::Length(_) if left != 0 => whole = false,
            Framing::Close => whole = false,
            _ => {}
        }
        if !self.out.is_empty() {
            Transport::write_all(stream, &self.out).await?;
            self.out.clear();
        }
        Ok(whole)
    }

    /// While a request is served: whether the client has closed the connection (a read
    /// finds its end, or fails). Bytes it sent meanwhile (a pipelined request) are kept
    /// in the buffer; once there are some, the socket is not watched any more, as hyper
    /// does. Registers `cx` for the socket's next readiness when it is not ready.
    fn poll_client_gone<S: Transport>(
        &mut self,
        stream: &mut S,
        cx: &mut std::task::Context<'_>,
    ) -> bool {
        if !self.buf.is_empty() {
            return false;
        }
        loop {
            match stream.poll_read_ready(cx) {
                Poll::Pending => return false,
                Poll::Ready(Err(_)) => return true,
                Poll::Ready(Ok(())) => {}
            }
            if self.buf.capacity() - self.buf.len() < MIN_READ_ROOM {
                self.buf.reserve(READ_BUFFER);
            }
            match stream.read_available(&mut self.buf) {
                Ok(0) => return true,
                Ok(_) => return false,
                // The readiness was stale and is cleared now: poll again to register.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) => return true,
            }
        }
    }

    /// Waits until `stream` is readable; `false` when the connection is to close: the
    /// wait's deadline passed, or the drain reached [`Phase::Closing`] with no request
    /// begun.
    ///
    /// A busy connection's wait is short: readiness or the next idle sweep, whichever
    /// comes first. At a sweep the connection is idle: its buffers are let go and it waits
    /// on a timer for the rest of its deadline, so idle connections cost no wake-up per
    /// sweep.
    async fn wait<S: Transport>(
        &mut self,
        stream: &S,
        sweep: &mut SweepWatch<'_, '_>,
        draining: &std::sync::atomic::AtomicBool,
        mut closing: Pin<&mut impl Future<Output = ()>>,
        closing_registered: &mut bool,
    ) -> bool {
        let head_begun = !self.buf.is_empty();
        let since = *self.waiting_since.get_or_insert_with(Instant::now);
        // A head that trickles in is bounded by the same deadline, whatever wakes it.
        if head_begun
            && self
                .wait_limit
                .is_some_and(|limit| since.elapsed() >= limit)
        {
            return false;
        }
        let mut closing_now = |cx: &mut std::task::Context<'_>| {
            let poll = (!*closing_registered || draining.load(Ordering::Acquire))
                && closing.as_mut().poll(cx).is_ready();
            *closing_registered = true;
            poll && !head_begun
        };
        enum Woke {
            Readable,
            Swept,
            Close,
        }
        let since_tick = sweep.epoch();
        let woke = std::future::poll_fn(|cx| {
            if stream.poll_read_ready(cx).is_ready() {
                return Poll::Ready(Woke::Readable);
            }
            if closing_now(cx) {
                return Poll::Ready(Woke::Close);
            }
            if sweep.poll_swept(since_tick, cx) {
                return Poll::Ready(Woke::Swept);
            }
            Poll::Pending
        })
        .await;
        match woke {
            Woke::Readable => return true,
            Woke::Close => return false,
            Woke::Swept => {}
        }
        if self.buf.is_empty() {
            self.buf = BytesMut::new();
        }
        self.out = Vec::new();
        let readable = std::future::poll_fn(|cx| {
            if stream.poll_read_ready(cx).is_ready() {
                return Poll::Ready(true);
            }
            if closing_now(cx) {
                return Poll::Ready(false);
            }
            Poll::Pending
        });
        match self.wait_limit {
            Some(limit) => {
                let deadline = tokio::time::Instant::from_std(since + limit);
                tokio::time::timeout_at(deadline, readable)
                    .await
                    .unwrap_or(false)
            }
            None => readable.await,
        }
    }
}

/// Writes `a` then `b`, vectored.
async fn write_both<S: Transport>(stream: &mut S, mut a: &[u8], mut b: &[u8]) -> io::Result<()> {
    while !a.is_empty() {
        let n = stream
            .write_vectored(&[IoSlice::new(a), IoSlice::new(b)])
            .await?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        let from_a = n.min(a.len());
        a = &a[from_a..];
        b = &b[n - from_a..];
    }
    // With nothing left of `b`, this still sends on what a TLS stream keeps back.
    Transport::write_all(stream, b).await
}

/// Appends the size line of a chunk of `n` bytes.
fn chunk_size_line(out: &mut Vec<u8>, n: usize) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut digits = [0u8; 16];
    let mut at = digits.len();
    let mut n = n;
    loop {
        at -= 1;
        digits[at] = HEX[n & 0xf];
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
    out.extend_from_slice(b"\r\n");
}
