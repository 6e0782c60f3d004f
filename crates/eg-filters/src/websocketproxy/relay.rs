//! Relaying frames between the client's connection and the upstream's.
//!
//! Once both handshakes are done, bytes are passed on as they are, frame by frame: each
//! direction reads into one buffer, parses only the frame headers ([`frames`]) and writes
//! what it read, headers and payloads unchanged (frames from the client stay masked with
//! the client's keys, as the upstream expects; frames from the upstream stay unmasked). A
//! read holding several whole frames becomes one write. While passing frames on, the
//! headers are checked: the running size of the current message against the reading side's
//! limit, the frame sequence and the masking rule. Text is not checked for UTF-8 (as NGINX
//! does not): the receiving endpoint checks it and closes with `1007` itself.
//!
//! Pings, pongs and close frames are passed on too, so the closing handshake is end to end:
//! after one side's close frame, the other side's frames are passed on until its own close
//! frame (or [`CLOSE_WAIT`]). When a direction stops otherwise, the proxy closes both sides
//! itself: `1009` to a side that sent an oversized message, `1002` for a protocol error,
//! and to the other side `1001` (client went away) or `1011` (upstream failed); it then
//! reads (and drops) frames until each side's close answer, within [`CLOSE_WAIT`].
//!
//! Both directions are polled by one task without splitting the connections. A buffer is
//! allocated when its side has something to read and released when everything read was
//! written, so idle sessions hold none.

use std::future::{poll_fn, Future};
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{ready, Context, Poll};
use std::time::Duration;

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::frames::{self, Kind, Refusal, Rules, Sequence};

/// How long both sides get to finish the closing handshake once the relay stops.
pub const CLOSE_WAIT: Duration = Duration::from_secs(5);
/// Bytes read from a socket at a time; held only while a direction has bytes in flight.
pub const READ_BUFFER_SIZE: usize = 16 * 1024;
/// Below this much free room, a buffer holding a partial header is replaced by a fresh one
/// (the header moved over), so that reads stay large.
const MIN_READ_ROOM: usize = READ_BUFFER_SIZE / 4;

/// Close codes the proxy sends (RFC 6455 §7.4.1).
const CLOSE_GOING_AWAY: u16 = 1001;
const CLOSE_PROTOCOL_ERROR: u16 = 1002;
const CLOSE_TOO_BIG: u16 = 1009;
const CLOSE_INTERNAL_ERROR: u16 = 1011;

/// Message and byte counts of one relayed connection, shared with the pool's statistics.
#[derive(Debug, Default)]
pub struct Traffic {
    /// Messages from the client to the upstream.
    pub client_messages: AtomicU64,
    /// Payload bytes from the client to the upstream.
    pub client_bytes: AtomicU64,
    /// Messages from the upstream to the client.
    pub server_messages: AtomicU64,
    /// Payload bytes from the upstream to the client.
    pub server_bytes: AtomicU64,
}

/// The message limits of a session.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest message read from the client; `None`: no limit.
    pub client: Option<usize>,
    /// Largest message read from the upstream; `None`: no limit.
    pub server: Option<usize>,
}

/// Why a direction stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// Its side sent a close frame, which was passed on.
    Closed,
    /// Its side sent a message over the limit.
    TooBig,
    /// Its side broke the protocol.
    Violation,
    /// Its side went away (end of stream, read error).
    Gone,
    /// Writing to the other side failed.
    WriteFailed,
    /// It reached the end of a frame, as asked ([`Mode::FinishFrame`]).
    Boundary,
}

/// What a direction does with the frames it reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Check them and pass them on.
    Forward,
    /// Pass on the rest of the current frame, then stop ([`Stop::Boundary`]).
    FinishFrame,
    /// Drop them, until a close frame or the end of the stream.
    Discard,
}

/// One direction: reads one side, writes the other.
struct Pump<'t> {
    buf: BytesMut,
    /// `buf[..written]` has been written.
    written: usize,
    /// `buf[..checked]` has been checked and may be written.
    checked: usize,
    /// Payload bytes of the current frame not yet checked.
    frame_left: u64,
    /// The current frame is a close frame.
    closing: bool,
    sequence: Sequence,
    rules: Rules,
    /// Frames written by this direction must be masked (it writes to the upstream).
    out_masked: bool,
    /// Bytes were written since the last flush.
    dirty: bool,
    /// Decided stop, returned once the checked bytes are written.
    stop: Option<Stop>,
    messages: &'t AtomicU64,
    bytes: &'t AtomicU64,
}

impl<'t> Pump<'t> {
    fn new(
        first: BytesMut,
        rules: Rules,
        out_masked: bool,
        messages: &'t AtomicU64,
        bytes: &'t AtomicU64,
    ) -> Pump<'t> {
        Pump {
            buf: first,
            written: 0,
            checked: 0,
            frame_left: 0,
            closing: false,
            sequence: Sequence::default(),
            rules,
            out_masked,
            dirty: false,
            stop: None,
            messages,
            bytes,
        }
    }

    /// Whether the bytes written so far end with a whole frame.
    fn at_boundary(&self) -> bool {
        self.frame_left == 0 && self.written == self.checked
    }

    /// Passes frames from `r` to `w` (or drops them in [`Mode::Discard`]) until it stops.
    fn poll_pump<R, W>(
        &mut self,
        cx: &mut Context<'_>,
        r: &mut R,
        mut w: Option<&mut W>,
        mode: Mode,
    ) -> Poll<Stop>
    where
        R: AsyncRead + Unpin,
        W: AsyncWrite + Unpin,
    {
        loop {
            while self.written < self.checked {
                let Some(w) = w.as_deref_mut() else {
                    self.written = self.checked;
                    break;
                };
                let chunk = &self.buf[self.written..self.checked];
                match ready!(Pin::new(w).poll_write(cx, chunk)) {
                    Ok(0) | Err(_) => return Poll::Ready(Stop::WriteFailed),
                    Ok(n) => {
                        self.written += n;
                        self.dirty = true;
                    }
                }
            }
            if self.dirty {
                if let Some(w) = w.as_deref_mut() {
                    if ready!(Pin::new(w).poll_flush(cx)).is_err() {
                        return Poll::Ready(Stop::WriteFailed);
                    }
                }
                self.dirty = false;
            }
            if let Some(stop) = self.stop.take() {
                return Poll::Ready(stop);
            }
            if mode == Mode::FinishFrame && self.frame_left == 0 {
                return Poll::Ready(Stop::Boundary);
            }
            self.scan(mode);
            if self.checked > self.written || self.stop.is_some() {
                continue;
            }
            // Everything checked is written: what is left is part of a header.
            self.make_room();
            match ready!(self.poll_fill(cx, r)) {
                Ok(0) | Err(_) => return Poll::Ready(Stop::Gone),
                Ok(_) => {}
            }
        }
    }

    /// Checks what was read past `checked`: payload bytes of the current frame, then whole
    /// headers (and so on); stops at an incomplete header or a refused frame.
    fn scan(&mut self, mode: Mode) {
        let rules = if mode == Mode::Discard {
            Rules {
                max_message: None,
                masked: None,
            }
        } else {
            self.rules
        };
        let (mut messages, mut bytes) = (0, 0);
        while self.checked < self.buf.len() {
            if self.frame_left > 0 {
                let avail = (self.buf.len() - self.checked) as u64;
                let n = avail.min(self.frame_left);
                // `n` is at most `avail`, a buffer length.
                self.checked += n as usize;
                self.frame_left -= n;
                if self.frame_left == 0 && self.closing {
                    self.stop = Some(Stop::Closed);
                    break;
                }
                continue;
            }
            if mode == Mode::FinishFrame {
                break;
            }
            let Some(h) = frames::parse(&self.buf[self.checked..]) else {
                break;
            };
            match self.sequence.accept(&h, rules) {
                Err(Refusal::TooBig) => {
                    self.stop = Some(Stop::TooBig);
                    break;
                }
                Err(Refusal::Protocol) => {
                    self.stop = Some(Stop::Violation);
                    break;
                }
                Ok(kind) => {
                    self.checked += h.header_len;
                    self.frame_left = h.len;
                    match kind {
                        Kind::Data { last } => {
                            bytes += h.len;
                            messages += u64::from(last);
                        }
                        Kind::PingPong => {}
                        Kind::Close => self.closing = true,
                    }
                    if self.closing && h.len == 0 {
                        self.stop = Some(Stop::Closed);
                        break;
                    }
                }
            }
        }
        if mode != Mode::Discard && (messages | bytes) != 0 {
            self.messages.fetch_add(messages, Ordering::Relaxed);
            self.bytes.fetch_add(bytes, Ordering::Relaxed);
        }
    }

    /// Drops the written bytes and makes sure there is room to read into.
    fn make_room(&mut self) {
        if self.written == self.buf.len() {
            self.buf.clear();
        } else {
            self.buf.advance(self.written);
        }
        self.written = 0;
        self.checked = 0;
        debug_assert!(
            self.buf.len() < frames::MAX_HEADER_LEN,
            "only a partial header is left"
        );
        if self.buf.capacity() - self.buf.len() < MIN_READ_ROOM {
            let mut fresh = BytesMut::with_capacity(READ_BUFFER_SIZE.max(self.buf.len() * 2));
            fresh.extend_from_slice(&self.buf);
            self.buf = fresh;
        }
    }

    /// Reads into the free room of the buffer; when nothing is ready and nothing is held,
    /// releases the buffer.
    fn poll_fill<R>(&mut self, cx: &mut Context<'_>, r: &mut R) -> Poll<std::io::Result<usize>>
    where
        R: AsyncRead + Unpin,
    {
        let polled = pin!(r.read_buf(&mut self.buf)).poll(cx);
        if polled.is_pending() && self.buf.is_empty() {
            self.buf = BytesMut::new();
        }
        polled
    }
}

/// Relays between `client` and `server` (whose first bytes, read with its handshake
/// answer, are `server_first`) until both are closed, or [`CLOSE_WAIT`] passed after one
/// of them stopped.
pub async fn relay<C, S>(
    mut client: C,
    mut server: S,
    server_first: Vec<u8>,
    limits: Limits,
    traffic: &Traffic,
) where
    C: AsyncRead + AsyncWrite + Unpin,
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut up = Pump::new(
        BytesMut::new(),
        Rules {
            max_message: limits.client.map(|n| n as u64),
            masked: Some(true),
        },
        true,
        &traffic.client_messages,
        &traffic.client_bytes,
    );
    let mut down = Pump::new(
        BytesMut::from(server_first.as_slice()),
        Rules {
            max_message: limits.server.map(|n| n as u64),
            masked: Some(false),
        },
        false,
        &traffic.server_messages,
        &traffic.server_bytes,
    );
    let (side, stop) = poll_fn(|cx| {
        if let Poll::Ready(s) = up.poll_pump(cx, &mut client, Some(&mut server), Mode::Forward) {
            return Poll::Ready((Side::Client, s));
        }
        if let Poll::Ready(s) = down.poll_pump(cx, &mut server, Some(&mut client), Mode::Forward) {
            return Poll::Ready((Side::Server, s));
        }
        Poll::Pending
    })
    .await;
    tracing::debug!(?side, ?stop, "WebSocket relay stopping");
    let ending = match side {
        Side::Client => {
            let other = (CLOSE_GOING_AWAY, "client went away");
            tokio::time::timeout(
                CLOSE_WAIT,
                end(&mut client, &mut server, &mut up, &mut down, stop, other),
            )
            .await
        }
        Side::Server => {
            let other = (CLOSE_INTERNAL_ERROR, "upstream failed");
            tokio::time::timeout(
                CLOSE_WAIT,
                end(&mut server, &mut client, &mut down, &mut up, stop, other),
            )
            .await
        }
    };
    if ending.is_err() {
        tracing::debug!("WebSocket closing handshake timed out");
    }
    let _ = tokio::time::timeout(CLOSE_WAIT, async {
        let _ = tokio::join!(client.shutdown(), server.shutdown());
    })
    .await;
}

/// Which side a direction reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Client,
    Server,
}

/// A close frame the proxy sends itself: its code and reason.
type CloseBy = (u16, &'static str);

/// Ends a session after side `a` (read by `pa`, written by `pb`) stopped with `stop`;
/// `to_b` is what `b` is told when `a` went away or misbehaved.
async fn end<A, B>(
    a: &mut A,
    b: &mut B,
    pa: &mut Pump<'_>,
    pb: &mut Pump<'_>,
    stop: Stop,
    to_b: CloseBy,
) where
    A: AsyncRead + AsyncWrite + Unpin,
    B: AsyncRead + AsyncWrite + Unpin,
{
    let to_a = match stop {
        Stop::Closed => {
            // `a`'s close frame went to `b`: pass on `b`'s frames up to its close answer.
            let _ = poll_fn(|cx| pb.poll_pump(cx, b, Some(&mut *a), Mode::Forward)).await;
            return;
        }
        Stop::WriteFailed | Stop::Boundary => return,
        Stop::TooBig => Some((CLOSE_TOO_BIG, "message too big")),
        Stop::Violation => Some((CLOSE_PROTOCOL_ERROR, "protocol error")),
        Stop::Gone => None,
    };
    // A close frame may only go between frames.
    let mut wait_b = false;
    if pa.at_boundary() {
        wait_b = send_close(b, to_b, pa.out_masked).await;
    }
    let mut wait_a = false;
    if let Some(to_a) = to_a {
        let at = poll_fn(|cx| pb.poll_pump(cx, b, Some(&mut *a), Mode::FinishFrame)).await;
        if at == Stop::Boundary {
            wait_a = send_close(a, to_a, pb.out_masked).await;
        }
    }
    // Wait for the close answers, dropping what comes before them.
    tokio::join!(
        async {
            if wait_a {
                poll_fn(|cx| pa.poll_pump(cx, a, None::<&mut A>, Mode::Discard)).await;
            }
        },
        async {
            if wait_b {
                poll_fn(|cx| pb.poll_pump(cx, b, None::<&mut B>, Mode::Discard)).await;
            }
        }
    );
}

/// Writes the close frame `by` to `w` (masked with a fresh key when `masked`); whether it
/// was written.
async fn send_close<W: AsyncWrite + Unpin>(w: &mut W, by: CloseBy, masked: bool) -> bool {
    let (code, reason) = by;
    let frame = frames::close_frame(code, reason, masked.then(rand::random::<[u8; 4]>));
    w.write_all(&frame).await.is_ok() && w.flush().await.is_ok()
}
