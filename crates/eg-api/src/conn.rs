//! Connection hygiene of the admin listener: accept back-off, rate-limited warnings, and the
//! per-connection clock that closes silent, slow and idle connections.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::reply::ApiBody;

/// First pause after a failed accept.
pub(crate) const ACCEPT_BACKOFF_MIN: Duration = Duration::from_millis(5);
/// Longest pause between accepts while they keep failing.
pub(crate) const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);

/// The pause between failed accepts, as Go's `net/http` does it: 5 ms, doubling up to 1 s,
/// back to the start after a success. Without it an accept that fails at once (EMFILE while
/// the connection stays queued) turns the loop into a busy spin.
#[derive(Debug, Default)]
pub(crate) struct Backoff {
    delay: Option<Duration>,
}

impl Backoff {
    /// Records a failure; returns how long to wait before the next attempt.
    pub fn failed(&mut self) -> Duration {
        let next = match self.delay {
            None => ACCEPT_BACKOFF_MIN,
            Some(d) => (d * 2).min(ACCEPT_BACKOFF_MAX),
        };
        self.delay = Some(next);
        next
    }

    /// Records a success.
    pub fn succeeded(&mut self) {
        self.delay = None;
    }
}

/// Lets one log line through per `every`, counting the ones held back.
#[derive(Debug)]
pub(crate) struct LogLimiter {
    every: Duration,
    last: Option<Instant>,
    suppressed: u64,
}

impl LogLimiter {
    /// A limiter letting one line through per `every`.
    pub fn new(every: Duration) -> Self {
        LogLimiter {
            every,
            last: None,
            suppressed: 0,
        }
    }

    /// `Some(n)` when a line is due now (`n` lines were held back since the last one),
    /// `None` when this one is to be held back.
    pub fn hit(&mut self, now: Instant) -> Option<u64> {
        match self.last {
            Some(last) if now.saturating_duration_since(last) < self.every => {
                self.suppressed += 1;
                None
            }
            _ => {
                self.last = Some(now);
                Some(std::mem::take(&mut self.suppressed))
            }
        }
    }
}

/// How long a connection may stay in each phase.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timeouts {
    /// From accept to a complete first request head (TLS handshake included), and from the
    /// first byte of any later HTTP/1 request head to its end.
    pub read_header: Duration,
    /// With no request in progress and no traffic.
    pub idle: Duration,
}

/// What the clock of a connection decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Keep the connection; look again after this long.
    Keep(Duration),
    /// A request head did not arrive in time: drop the connection.
    HeaderTimeout,
    /// Nothing happened for the idle timeout: close the connection gracefully.
    Idle,
}

/// What a connection has been doing, as seen by its clock.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Snapshot {
    /// Since accept.
    pub age: Duration,
    /// Requests handed to the handler so far.
    pub requests: u64,
    /// Requests whose answer is not completely sent.
    pub in_flight: usize,
    /// Since the last byte read or written.
    pub quiet: Duration,
    /// Since the first byte of a request head that is not complete yet (HTTP/1).
    pub head: Option<Duration>,
}

/// Decides whether a connection has overstayed.
pub(crate) fn verdict(s: Snapshot, t: Timeouts) -> Verdict {
    let mut next = t.idle.min(t.read_header);
    if s.requests == 0 {
        if s.age >= t.read_header {
            return Verdict::HeaderTimeout;
        }
        next = next.min(t.read_header - s.age);
    }
    if s.in_flight == 0 {
        match s.head {
            Some(h) if h >= t.read_header => return Verdict::HeaderTimeout,
            Some(h) => next = next.min(t.read_header - h),
            None if s.requests > 0 => {
                if s.quiet >= t.idle {
                    return Verdict::Idle;
                }
                next = next.min(t.idle - s.quiet);
            }
            None => {}
        }
    }
    Verdict::Keep(next.max(Duration::from_millis(10)))
}

/// The activity of one connection, shared by its I/O, its requests and its clock.
#[derive(Debug)]
pub(crate) struct Activity {
    start: Instant,
    /// Milliseconds since `start` of the last byte read or written.
    last_io: AtomicU64,
    /// Milliseconds since `start` + 1 of the first byte of an unfinished request head; 0 = none.
    head_since: AtomicU64,
    requests: AtomicU64,
    in_flight: AtomicUsize,
    /// HTTP/2: bytes between requests are control frames, not a request head.
    h2: AtomicBool,
}

impl Activity {
    /// A connection accepted at `start`.
    pub fn new(start: Instant) -> Arc<Activity> {
        Arc::new(Activity {
            start,
            last_io: AtomicU64::new(0),
            head_since: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            h2: AtomicBool::new(false),
        })
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn on_read(&self) {
        let now = self.now_ms();
        self.last_io.store(now, Ordering::Relaxed);
        if self.in_flight.load(Ordering::Acquire) == 0 && !self.h2.load(Ordering::Relaxed) {
            let _ = self.head_since.compare_exchange(
                0,
                now.saturating_add(1),
                Ordering::AcqRel,
                Ordering::Relaxed,
            );
        }
    }

    fn on_write(&self) {
        self.last_io.store(self.now_ms(), Ordering::Relaxed);
    }

    /// A request reached the handler; the guard marks it finished when dropped.
    pub fn begin(self: &Arc<Self>, http2: bool) -> InFlight {
        if http2 {
            self.h2.store(true, Ordering::Relaxed);
        }
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.head_since.store(0, Ordering::Release);
        InFlight(self.clone())
    }

    /// The state now.
    pub fn snapshot(&self) -> Snapshot {
        let now = self.now_ms();
        let ms = Duration::from_millis;
        let head = self.head_since.load(Ordering::Acquire);
        Snapshot {
            age: self.start.elapsed(),
            requests: self.requests.load(Ordering::Relaxed),
            in_flight: self.in_flight.load(Ordering::Acquire),
            quiet: ms(now.saturating_sub(self.last_io.load(Ordering::Relaxed))),
            head: (head > 0).then(|| ms(now.saturating_sub(head - 1))),
        }
    }
}

/// A request in progress; dropped when its answer has been sent (or abandoned).
pub(crate) struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.on_write();
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// An answer body that keeps its request counted as in progress until it is sent.
pub(crate) struct TrackedBody {
    inner: ApiBody,
    _in_flight: InFlight,
}

impl TrackedBody {
    /// Wraps `inner`.
    pub fn new(inner: ApiBody, in_flight: InFlight) -> Self {
        TrackedBody {
            inner,
            _in_flight: in_flight,
        }
    }
}

impl Body for TrackedBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A connection's byte stream, reporting reads and writes to its [`Activity`].
pub(crate) struct Tracked<T> {
    inner: T,
    activity: Arc<Activity>,
}

impl<T> Tracked<T> {
    /// Wraps `inner`.
    pub fn new(inner: T, activity: Arc<Activity>) -> Self {
        Tracked { inner, activity }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Tracked<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let res = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(res, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.on_read();
        }
        res
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Tracked<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let res = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(res, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.on_write();
        }
        res
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let res = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(res, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.on_write();
        }
        res
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_5ms_to_1s_and_resets_on_success() {
        let mut b = Backoff::default();
        let seq: Vec<u64> = (0..10).map(|_| b.failed().as_millis() as u64).collect();
        assert_eq!(seq, [5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
        b.succeeded();
        assert_eq!(b.failed(), ACCEPT_BACKOFF_MIN);
    }

    #[test]
    fn log_limiter_lets_one_line_per_interval_and_counts_the_rest() {
        let t0 = Instant::now();
        let mut l = LogLimiter::new(Duration::from_secs(1));
        assert_eq!(l.hit(t0), Some(0));
        for i in 1..=500 {
            assert_eq!(l.hit(t0 + Duration::from_micros(i)), None);
        }
        assert_eq!(l.hit(t0 + Duration::from_millis(1000)), Some(500));
        assert_eq!(l.hit(t0 + Duration::from_millis(1500)), None);
        assert_eq!(l.hit(t0 + Duration::from_millis(2000)), Some(1));
    }

    const T: Timeouts = Timeouts {
        read_header: Duration::from_secs(10),
        idle: Duration::from_secs(60),
    };

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn the_header_deadline_of_the_first_request_starts_at_accept() {
        let silent = Snapshot {
            age: secs(10),
            quiet: secs(10),
            ..Snapshot::default()
        };
        assert_eq!(verdict(silent, T), Verdict::HeaderTimeout);
        let young = Snapshot {
            age: secs(4),
            ..silent
        };
        assert_eq!(verdict(young, T), Verdict::Keep(secs(6)));
        // Bytes that trickle in do not extend it.
        let trickle = Snapshot {
            age: secs(11),
            quiet: Duration::ZERO,
            head: Some(secs(1)),
            ..Snapshot::default()
        };
        assert_eq!(verdict(trickle, T), Verdict::HeaderTimeout);
    }

    #[test]
    fn later_heads_idle_connections_and_running_requests() {
        let busy = Snapshot {
            age: secs(1000),
            requests: 1,
            in_flight: 1,
            quiet: secs(500),
            head: None,
        };
        assert!(matches!(verdict(busy, T), Verdict::Keep(_)));
        let idle = Snapshot {
            in_flight: 0,
            quiet: secs(60),
            ..busy
        };
        assert_eq!(verdict(idle, T), Verdict::Idle);
        let resting = Snapshot {
            quiet: secs(20),
            ..idle
        };
        assert_eq!(verdict(resting, T), Verdict::Keep(secs(10)));
        let slow_head = Snapshot {
            quiet: Duration::ZERO,
            head: Some(secs(10)),
            ..idle
        };
        assert_eq!(verdict(slow_head, T), Verdict::HeaderTimeout);
    }

    #[test]
    fn activity_tracks_heads_requests_and_answers() {
        let a = Activity::new(Instant::now());
        a.on_read();
        assert!(a.snapshot().head.is_some());
        let g = a.begin(false);
        let s = a.snapshot();
        assert_eq!((s.requests, s.in_flight, s.head), (1, 1, None));
        a.on_read(); // body bytes of a running request are no head
        assert_eq!(a.snapshot().head, None);
        drop(g);
        assert_eq!(a.snapshot().in_flight, 0);
        let _g = a.begin(true);
        drop(_g);
        a.on_read(); // HTTP/2 control frames between requests
        assert_eq!(a.snapshot().head, None);
    }
}
