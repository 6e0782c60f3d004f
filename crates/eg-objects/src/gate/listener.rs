//! The listener of a traffic gate: bind (retried every 10 s on failure), accept with a
//! connection limit, TLS, HTTP/1.1 and HTTP/2 (ALPN) or HTTP/2 with prior knowledge (h2c)
//! through hyper, graceful shutdown.
//!
//! The listener serves any [`Gate`]: the configuration a gate compiled from its spec,
//! swapped atomically on rule changes while connections stay open.

use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use bytes::Bytes;
use eg_supervisor::metrics::Cell;
use http::HeaderValue;
use hyper::server::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use parking_lot::Mutex;
use serde_json::{json, Map, Value};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify};
use tokio_rustls::TlsAcceptor;

use super::h1;
use super::h2c::{self, H2cConfig};
use super::idle::{Activity, ParkableIo, Watched};
use super::stats::{RequestStats, SharedStats};
use super::sweep::IdleSweep;

/// Time between attempts to bind a port that failed.
pub const RETRY_INTERVAL: Duration = Duration::from_secs(10);
/// How long a stopped listener waits for its connections to finish.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a client may take to complete the TLS handshake.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Listen backlog.
const BACKLOG: i32 = 1024;
/// First pause after an accept error (e.g. too many open files); it doubles with each
/// further error up to [`ACCEPT_ERROR_PAUSE_MAX`].
const ACCEPT_ERROR_PAUSE_MIN: Duration = Duration::from_millis(5);
/// Longest pause between accept attempts while accepting fails.
const ACCEPT_ERROR_PAUSE_MAX: Duration = Duration::from_secs(1);
/// At most one accept-failure warning per this interval; the others are counted.
const ACCEPT_WARNING_INTERVAL: Duration = Duration::from_secs(5);
/// How long a stopped listener keeps idle keep-alive connections open, answering their
/// requests with `Connection: close`, before closing them.
const IDLE_GRACE: Duration = Duration::from_secs(5);
/// Deadline for the first request of a connection when `keepAliveTimeout` is `0` (no idle
/// limit): a connection that never sends a byte is still closed.
const FIRST_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// How often a listener tells its idle HTTP/1 connections (plain and TLS) to leave hyper: a
/// connection is let go once it is idle and this interval has ticked since hyper got it,
/// so busy connections do not pay for it on every request.
#[cfg(not(test))]
const IDLE_SWEEP: Duration = Duration::from_millis(500);
#[cfg(test)]
const IDLE_SWEEP: Duration = Duration::from_millis(20);
/// Most concurrent HTTP/2 streams per connection.
const H2_MAX_STREAMS: u32 = 256;
/// Entries in the status's `topN`.
const TOP_N: usize = 10;

/// The routing configuration a listener hands requests to.
pub(crate) trait Gate: Send + Sync + 'static {
    /// The response body.
    type Body: http_body::Body<Data = Bytes, Error = Self::BodyError> + Send + Unpin + 'static;
    /// The body's error.
    type BodyError: Into<Box<dyn std::error::Error + Send + Sync>> + Send;

    /// Serves one request from `peer`.
    fn handle(
        self: Arc<Self>,
        req: http::Request<eg_protocols::Body>,
        peer: SocketAddr,
    ) -> impl Future<Output = http::Response<Self::Body>> + Send;

    /// The answer to a request whose handling panicked.
    fn internal_error() -> http::Response<Self::Body>;
}

/// Listener settings; a change of any of them restarts the listener.
#[derive(Clone)]
pub(crate) struct ListenerConfig {
    /// Bind address ("" = all interfaces).
    pub address: String,
    /// Port.
    pub port: u16,
    /// TLS, when `https`.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// The spec fields the TLS config came from (compared to decide on a restart).
    pub tls_source: Vec<String>,
    /// HTTP/1 keep-alive.
    pub keep_alive: bool,
    /// Idle timeout of kept-alive connections (`None` = none).
    pub keep_alive_timeout: Option<Duration>,
    /// Serve HTTP/2 with prior knowledge (no TLS, no HTTP/1) with these connection
    /// timers, instead of HTTP/1.1 and HTTP/2 over TLS.
    pub h2c: Option<H2cConfig>,
}

impl ListenerConfig {
    /// Whether `other` can keep running this listener.
    pub fn same_listener(&self, other: &ListenerConfig) -> bool {
        self.address == other.address
            && self.port == other.port
            && self.tls.is_some() == other.tls.is_some()
            && self.tls_source == other.tls_source
            && self.keep_alive == other.keep_alive
            && self.keep_alive_timeout == other.keep_alive_timeout
            && self.h2c == other.h2c
    }
}

/// `state` of the status object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    Nil,
    Running,
    Failed,
    Closed,
}

impl State {
    /// The name in the status object.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Nil => "nil",
            State::Running => "running",
            State::Failed => "failed",
            State::Closed => "closed",
        }
    }
}

/// What the listener task and the object share.
pub(crate) struct Shared<M> {
    /// Server name.
    pub name: String,
    /// The current configuration.
    pub mux: ArcSwap<M>,
    /// `maxConnections`.
    pub max_conns: AtomicUsize,
    active: AtomicUsize,
    slot_freed: Notify,
    state: Mutex<(State, String)>,
    health: Arc<Cell>,
    /// Statistics kept across generations.
    pub stats: Arc<SharedStats>,
}

impl<M> Shared<M> {
    /// Shared state for a server.
    pub fn new(
        name: &str,
        mux: M,
        max_conns: usize,
        health: Arc<Cell>,
        stats: Arc<SharedStats>,
    ) -> Shared<M> {
        Shared {
            name: name.to_string(),
            mux: ArcSwap::from_pointee(mux),
            max_conns: AtomicUsize::new(max_conns),
            active: AtomicUsize::new(0),
            slot_freed: Notify::new(),
            state: Mutex::new((State::Nil, String::new())),
            health,
            stats,
        }
    }

    /// Changes `maxConnections` in place.
    pub fn set_max_connections(&self, n: usize) {
        self.max_conns.store(n, Ordering::Release);
        self.slot_freed.notify_one();
    }

    /// The `httpserver_health` gauge.
    pub fn health(&self) -> Arc<Cell> {
        self.health.clone()
    }

    /// Marks the server closed.
    pub fn close(&self) {
        self.set_state(State::Closed, String::new());
    }

    fn set_state(&self, state: State, error: String) {
        *self.state.lock() = (state, error);
        self.health.set(u64::from(state == State::Running));
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state.lock().0
    }

    /// The status object.
    pub fn status(&self) -> Value {
        let (state, error) = self.state.lock().clone();
        let mut m = Map::new();
        m.insert("name".into(), json!(self.name));
        m.insert("health".into(), json!(error));
        m.insert("state".into(), json!(state.as_str()));
        if !error.is_empty() {
            m.insert("error".into(), json!(error));
        }
        m.extend(self.stats.server.to_json());
        let mut top: Vec<(String, Arc<RequestStats>)> = self
            .stats
            .paths
            .lock()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        top.sort_by_key(|(_, s)| std::cmp::Reverse(s.count()));
        let top: Vec<Value> = top
            .into_iter()
            .filter(|(_, s)| s.count() > 0)
            .take(TOP_N)
            .map(|(path, s)| {
                let mut item = Map::new();
                item.insert("path".into(), json!(path));
                item.extend(s.to_json());
                Value::Object(item)
            })
            .collect();
        m.insert("topN".into(), Value::Array(top));
        Value::Object(m)
    }
}

/// The process's soft limit of open files, from `/proc/self/limits` (`None` where that
/// cannot be read, or when unlimited).
pub(crate) fn open_files_limit() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    parse_open_files_limit(&text)
}

fn parse_open_files_limit(limits: &str) -> Option<u64> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Warns when `maxConnections` cannot be reached because the process may not open that
/// many files.
pub(crate) fn check_connection_limit(server: &str, max_conns: usize) {
    if let Some(limit) = open_files_limit() {
        if max_conns as u64 > limit {
            tracing::warn!(
                server,
                max_connections = max_conns,
                open_files_limit = limit,
                "maxConnections is above the open-files limit; connections past the limit will fail to be accepted"
            );
        }
    }
}

/// A running listener task.
pub(crate) struct Listener {
    /// The settings it runs with.
    pub config: ListenerConfig,
    stop: watch::Sender<Stop>,
    released: watch::Receiver<bool>,
    /// The listening socket, left here by a stopped listener for its successor on the same
    /// address and port.
    handover: Arc<Mutex<Option<std::net::TcpListener>>>,
}

/// How a listener is asked to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// Keep running.
    No,
    /// Stop and close the listening socket.
    Close,
    /// Stop and leave the listening socket to the next listener on the same address.
    HandOver,
}

impl Listener {
    /// Starts the listener task. When `after` is given (a restart), the new listener takes
    /// over the old one's socket if the address and port are unchanged — connections waiting
    /// in the backlog are then accepted by the new listener and none is refused — and
    /// otherwise binds once the old listener has let its socket go.
    pub fn start<M: Gate>(
        shared: Arc<Shared<M>>,
        config: ListenerConfig,
        after: Option<&Listener>,
    ) -> Listener {
        let (stop, stop_rx) = watch::channel(Stop::No);
        let (released_tx, released) = watch::channel(false);
        let handover = Arc::new(Mutex::new(None));
        let inherit = after.map(|l| {
            let same_socket = l.config.address == config.address && l.config.port == config.port;
            l.stop_with(if same_socket {
                Stop::HandOver
            } else {
                Stop::Close
            });
            (l.released.clone(), l.handover.clone(), same_socket)
        });
        let cfg = config.clone();
        let out = handover.clone();
        // Counted from now until the connections are drained, so that a stopping process
        // waits for them.
        let running = eg_handover::drain::begin();
        tokio::spawn(async move {
            let mut socket = None;
            if let Some((mut released, slot, same_socket)) = inherit {
                let _ = released.wait_for(|v| *v).await;
                let taken = slot.lock().take();
                if same_socket {
                    socket = taken;
                }
            }
            run(shared, cfg, socket, stop_rx, released_tx, out).await;
            drop(running);
        });
        Listener {
            config,
            stop,
            released,
            handover,
        }
    }

    /// Stops accepting, closes the socket and drains connections (in the background).
    pub fn stop(&self) {
        self.stop_with(Stop::Close);
    }

    fn stop_with(&self, how: Stop) {
        self.stop.send_if_modified(|s| {
            if *s == Stop::No {
                *s = how;
                true
            } else {
                false
            }
        });
    }
}

/// The addresses `cfg` binds, in order of preference: all interfaces (IPv6 and IPv4, or
/// IPv4 only on hosts without IPv6) when the address is empty.
fn bind_addresses(cfg: &ListenerConfig) -> std::io::Result<Vec<SocketAddr>> {
    if cfg.address.is_empty() {
        return Ok(vec![
            SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), cfg.port),
            SocketAddr::new(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), cfg.port),
        ]);
    }
    let host = cfg.address.trim_start_matches('[').trim_end_matches(']');
    let first = (host, cfg.port).to_socket_addrs()?.next().ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("address {:?} does not resolve", cfg.address),
        )
    })?;
    Ok(vec![first])
}

/// The listening socket for `cfg`: the one the previous process handed over for this
/// address (a binary upgrade), or a new one.
fn bind(cfg: &ListenerConfig) -> std::io::Result<std::net::TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let addrs = bind_addresses(cfg)?;
    if let Some(inherited) = eg_handover::sockets::take_inherited(&addrs) {
        tracing::info!(
            port = cfg.port,
            "listening socket taken over from the previous process"
        );
        return Ok(inherited);
    }
    let open = |addr: SocketAddr| -> std::io::Result<std::net::TcpListener> {
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
        socket.set_reuse_address(true)?;
        if addr.is_ipv6() && addr.ip().is_unspecified() {
            socket.set_only_v6(false)?;
        }
        socket.set_nonblocking(true)?;
        socket.bind(&addr.into())?;
        socket.listen(BACKLOG)?;
        Ok(socket.into())
    };
    match (open(addrs[0]), addrs.get(1)) {
        // Hosts without IPv6: all IPv4 interfaces instead.
        (Err(e), Some(v4)) if e.kind() != std::io::ErrorKind::AddrInUse => open(*v4),
        (r, _) => r,
    }
}

async fn run<M: Gate>(
    shared: Arc<Shared<M>>,
    cfg: ListenerConfig,
    mut inherited: Option<std::net::TcpListener>,
    mut stop: watch::Receiver<Stop>,
    released: watch::Sender<bool>,
    handover: Arc<Mutex<Option<std::net::TcpListener>>>,
) {
    let drain = Drain::new();
    loop {
        if *stop.borrow() != Stop::No {
            break;
        }
        let socket = match inherited.take() {
            Some(s) => Ok(s),
            None => bind(&cfg),
        };
        // Listed for a binary upgrade while it accepts.
        let registered = socket.as_ref().ok().and_then(|s| {
            eg_handover::sockets::register(s)
                .map_err(|e| {
                    tracing::warn!(server = %shared.name, error = %e, "listening socket not listed for a binary upgrade")
                })
                .ok()
        });
        match socket.and_then(TcpListener::from_std) {
            Ok(listener) => {
                tracing::info!(server = %shared.name, port = cfg.port, "listening");
                shared.set_state(State::Running, String::new());
                accept_loop(&shared, &cfg, &listener, &mut stop, &drain).await;
                if *stop.borrow() == Stop::HandOver {
                    if let Ok(s) = listener.into_std() {
                        *handover.lock() = Some(s);
                    }
                }
                drop(registered);
                break;
            }
            Err(e) => {
                tracing::error!(server = %shared.name, port = cfg.port, error = %e, "listen failed; retrying in 10s");
                shared.set_state(State::Failed, e.to_string());
                tokio::select! {
                    _ = tokio::time::sleep(RETRY_INTERVAL) => {}
                    _ = stop.changed() => break,
                }
            }
        }
    }
    let _ = released.send(true);
    drain.run(&shared.name).await;
}

/// The stages of a stopped listener's connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Phase {
    /// Serving as usual.
    Serving,
    /// HTTP/1 answers carry `Connection: close` and the connection ends after them; HTTP/2
    /// connections are sent GOAWAY. Idle HTTP/1 connections stay open, so a request a client
    /// sends on one just now is still answered.
    Draining,
    /// The grace period is over: idle connections close; busy ones finish their request.
    Closing,
}

/// Graceful hand-over of the connections of a listener that stopped.
///
/// Closing an idle keep-alive connection races with the client sending its next request on
/// it, and that request is lost. So a stopped listener first answers every request with
/// `Connection: close` for [`IDLE_GRACE`] — busy clients reconnect to the new listener
/// without losing anything — and only then closes what is still idle.
struct Drain {
    /// Read on every HTTP/1 response: whether to add `Connection: close`.
    closing: Arc<AtomicBool>,
    /// The phase the connections wait on.
    signal: Arc<PhaseSignal>,
    /// Every connection holds a receiver: closed once they are all gone.
    alive: watch::Sender<()>,
}

/// A drain's current [`Phase`], and the wake-up of the connections waiting for the next.
///
/// A `Notify` and an atomic rather than a `watch` channel of the phase: every connection's
/// task keeps the future of its wait for it, and a `watch` wait's future is 184 bytes.
struct PhaseSignal {
    phase: AtomicU8,
    changed: Notify,
}

impl Drain {
    fn new() -> Drain {
        Drain {
            closing: Arc::new(AtomicBool::new(false)),
            signal: Arc::new(PhaseSignal {
                phase: AtomicU8::new(Phase::Serving as u8),
                changed: Notify::new(),
            }),
            alive: watch::channel(()).0,
        }
    }

    /// What a connection watches.
    fn handle(&self) -> ConnDrain {
        ConnDrain {
            closing: self.closing.clone(),
            signal: self.signal.clone(),
            _alive: self.alive.subscribe(),
        }
    }

    /// Moves the connections to `phase` and wakes those waiting for it.
    fn enter(&self, phase: Phase) {
        self.signal.phase.store(phase as u8, Ordering::Release);
        self.signal.changed.notify_waiters();
    }

    /// Drains the connections: `Connection: close` for the grace period, then closing idle
    /// ones, then waiting (bounded) for the busy ones.
    async fn run(&self, server: &str) {
        self.closing.store(true, Ordering::Release);
        self.enter(Phase::Draining);
        let _ = tokio::time::timeout(IDLE_GRACE, self.alive.closed()).await;
        self.enter(Phase::Closing);
        if tokio::time::timeout(DRAIN_TIMEOUT, self.alive.closed())
            .await
            .is_err()
        {
            tracing::warn!(server = %server, "connections still open after the drain timeout");
        }
    }
}

impl Drop for Drain {
    /// A listener gone without draining (its task ended or was cancelled) lets its
    /// connections go as a finished drain does.
    fn drop(&mut self) {
        self.closing.store(true, Ordering::Release);
        self.enter(Phase::Closing);
    }
}

/// A connection's view of its listener's [`Drain`]; dropping it tells the listener the
/// connection is gone.
pub(super) struct ConnDrain {
    pub(super) closing: Arc<AtomicBool>,
    signal: Arc<PhaseSignal>,
    _alive: watch::Receiver<()>,
}

impl ConnDrain {
    /// Resolves once the listener's drain reaches `phase`.
    pub(super) fn reached(&self, phase: Phase) -> impl Future<Output = ()> + '_ {
        let signal = &*self.signal;
        async move {
            loop {
                let notified = signal.changed.notified();
                tokio::pin!(notified);
                // Registered before the phase is read: a change after the read wakes it.
                notified.as_mut().enable();
                if signal.phase.load(Ordering::Acquire) >= phase as u8 {
                    return;
                }
                notified.await;
            }
        }
    }
}

/// Turns a panic while polling `inner` into an `Err`, so one failing request gets a 500
/// instead of taking its connection down.
pub(super) struct CatchUnwind<'a, F> {
    pub(super) inner: Pin<&'a mut F>,
}

impl<F: Future> Future for CatchUnwind<'_, F> {
    type Output = std::thread::Result<F::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<Self::Output> {
        let inner = self.inner.as_mut();
        match std::panic::catch_unwind(AssertUnwindSafe(move || inner.poll(cx))) {
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(e) => Poll::Ready(Err(e)),
        }
    }
}

/// Decrements the connection count when a connection ends.
struct ConnGuard<M>(Arc<Shared<M>>);

impl<M> Drop for ConnGuard<M> {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::AcqRel);
        self.0.slot_freed.notify_one();
    }
}

/// How connections of one listener are served.
struct Protocols {
    /// HTTP/1, plain or over TLS, for the requests the codec leaves to hyper: no timer per
    /// request; [`serve_http1`] bounds a request head with the idle sweep instead.
    h1: http1::Builder,
    h2: http2::Builder<TokioExecutor>,
    /// What the gate's HTTP/1 codec needs: keep-alive, the idle timeout
    /// (`keepAliveTimeout`) and the idle sweep, which also lets idle connections leave hyper.
    codec: h1::Settings,
    /// Deadline for the TLS handshake.
    tls_handshake: Duration,
    /// Deadline for the first request head of an HTTP/1 connection, from accept (plain) or
    /// from the end of the handshake (TLS).
    first_byte: Duration,
    /// Connection timers when serving HTTP/2 with prior knowledge.
    h2c: Option<H2cConfig>,
}

fn protocols(cfg: &ListenerConfig) -> Protocols {
    let mut h1 = http1::Builder::new();
    h1.keep_alive(cfg.keep_alive).header_read_timeout(None);
    let mut h2 = http2::Builder::new(TokioExecutor::new());
    h2.timer(TokioTimer::new())
        .adaptive_window(true)
        .max_concurrent_streams(H2_MAX_STREAMS);
    if let Some(h2c) = &cfg.h2c {
        h2.keep_alive_interval(h2c.keepalive_time)
            .keep_alive_timeout(h2c.keepalive_timeout);
    }
    let header_deadline = cfg.keep_alive_timeout.unwrap_or(FIRST_REQUEST_TIMEOUT);
    Protocols {
        h1,
        h2,
        codec: h1::Settings {
            keep_alive: cfg.keep_alive,
            idle_timeout: cfg.keep_alive_timeout,
            idle_sweep: IdleSweep::default(),
        },
        tls_handshake: TLS_HANDSHAKE_TIMEOUT.min(header_deadline),
        first_byte: header_deadline,
        h2c: cfg.h2c.clone(),
    }
}

/// Ticks `protocols.codec.idle_sweep` until the listener and its connections are gone.
fn spawn_idle_sweep(protocols: &Arc<Protocols>) {
    let protocols = Arc::downgrade(protocols);
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(IDLE_SWEEP);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match protocols.upgrade() {
                Some(p) => p.codec.idle_sweep.tick(),
                None => return,
            }
        }
    });
}

/// Pause after accept error number `n` (1-based): 5 ms doubling up to 1 s, as Go's HTTP
/// server does.
pub(crate) fn accept_backoff(n: u32) -> Duration {
    ACCEPT_ERROR_PAUSE_MIN
        .saturating_mul(1u32 << n.saturating_sub(1).min(16))
        .min(ACCEPT_ERROR_PAUSE_MAX)
}

async fn accept_loop<M: Gate>(
    shared: &Arc<Shared<M>>,
    cfg: &ListenerConfig,
    listener: &TcpListener,
    stop: &mut watch::Receiver<Stop>,
    drain: &Drain,
) {
    let protocols = Arc::new(protocols(cfg));
    if cfg.h2c.is_none() {
        spawn_idle_sweep(&protocols);
    }
    let tls = cfg.tls.clone().map(TlsAcceptor::from);
    let mut errors = 0u32;
    let mut last_warning: Option<Instant> = None;
    let mut suppressed = 0u64;
    loop {
        // Wait for a free connection slot (maxConnections).
        loop {
            let freed = shared.slot_freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            if shared.active.load(Ordering::Acquire) < shared.max_conns.load(Ordering::Acquire) {
                break;
            }
            tokio::select! {
                _ = &mut freed => {}
                _ = stop.changed() => return,
            }
        }
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = stop.changed() => return,
        };
        let (stream, peer) = match accepted {
            Ok(a) => {
                errors = 0;
                a
            }
            Err(e) => {
                errors = errors.saturating_add(1);
                if last_warning.is_none_or(|t| t.elapsed() >= ACCEPT_WARNING_INTERVAL) {
                    tracing::warn!(server = %shared.name, error = %e, suppressed, "accept failed; backing off");
                    last_warning = Some(Instant::now());
                    suppressed = 0;
                } else {
                    suppressed += 1;
                }
                tokio::select! {
                    _ = tokio::time::sleep(accept_backoff(errors)) => {}
                    _ = stop.changed() => return,
                }
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        shared.active.fetch_add(1, Ordering::AcqRel);
        let guard = ConnGuard(shared.clone());
        spawn_connection(
            stream,
            peer,
            guard,
            drain.handle(),
            protocols.clone(),
            tls.clone(),
        );
    }
}

/// Serves one accepted connection, in a task of its own, until it ends.
///
/// Each kind of connection has a task of its own type, and so of its own size: every idle
/// keep-alive connection keeps its task, and a plain one should not carry the room of the
/// TLS or HTTP/2 state it will never have.
fn spawn_connection<M: Gate>(
    stream: TcpStream,
    peer: SocketAddr,
    guard: ConnGuard<M>,
    drain: ConnDrain,
    protocols: Arc<Protocols>,
    tls: Option<TlsAcceptor>,
) {
    if let Some(cfg) = protocols.h2c.clone() {
        tokio::spawn(async move {
            let result = serve_h2c(stream, peer, guard.0.clone(), &cfg, &protocols, &drain).await;
            if let Err(e) = result {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
            drop(guard);
        });
        return;
    }
    match tls {
        None => {
            tokio::spawn(serve_plain(stream, peer, guard, drain, protocols));
        }
        Some(acceptor) => {
            tokio::spawn(serve_tls(stream, peer, guard, drain, protocols, acceptor));
        }
    }
}

/// Serves a plain HTTP/1 connection until it ends.
fn serve_plain<M: Gate>(
    stream: TcpStream,
    peer: SocketAddr,
    guard: ConnGuard<M>,
    drain: ConnDrain,
    protocols: Arc<Protocols>,
) -> impl Future<Output = ()> {
    let (shared, closing) = (guard.0.clone(), drain.closing.clone());
    let service = move |activity| gate_service(shared, closing, peer, None, Some(activity));
    serve_http1(stream, service, guard, drain, protocols, peer)
}

/// Serves a TLS connection until it ends: the handshake, then HTTP/2 or HTTP/1.1 as it
/// negotiated.
///
/// Not an `async fn`, for the reason given at [`serve_http1`]: its arguments would be kept
/// twice in the task of every connection, for the connection's whole life.
#[allow(
    clippy::manual_async_fn,
    reason = "an async fn's future keeps its arguments twice"
)]
fn serve_tls<M: Gate>(
    stream: TcpStream,
    peer: SocketAddr,
    guard: ConnGuard<M>,
    drain: ConnDrain,
    protocols: Arc<Protocols>,
    acceptor: TlsAcceptor,
) -> impl Future<Output = ()> {
    async move {
        let tls_stream =
            match tokio::time::timeout(protocols.tls_handshake, acceptor.accept(stream)).await {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    tracing::debug!(%peer, error = %e, "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!(%peer, "TLS handshake timed out");
                    return;
                }
            };
        // Read through a function that takes the stream and gives it back: a local borrowed
        // in the block is kept in every later state of it, also once it has been moved out,
        // and this stream is 1.2 KiB.
        let (tls_stream, certs, h2) = negotiated(tls_stream);
        let (shared, closing) = (guard.0.clone(), drain.closing.clone());
        if !h2 {
            let transport = h1::TlsTransport::new(tls_stream, certs.clone());
            let service =
                move |activity| gate_service(shared, closing, peer, Some(certs), Some(activity));
            return serve_http1(transport, service, guard, drain, protocols, peer).await;
        }
        // Boxed: hyper's HTTP/2 connection is kilobytes larger than the HTTP/1.1 branch, and
        // every idle HTTPS connection would carry its room.
        let service = gate_service(shared, closing, peer, Some(certs), None);
        let mut conn = Box::pin(
            protocols
                .h2
                .serve_connection(TokioIo::new(tls_stream), service),
        );
        let result = tokio::select! {
            r = conn.as_mut() => r,
            _ = drain.reached(Phase::Draining) => {
                conn.as_mut().graceful_shutdown();
                conn.await
            }
        };
        if let Err(e) = result {
            tracing::debug!(%peer, error = %e, "connection ended with an error");
        }
        drop(guard);
    }
}

/// The hyper service of a connection from `peer`: its requests go to the gate's current
/// configuration. `tls`: `Some` on a TLS connection, with the client's certificate chain on
/// mutual-TLS ones; `activity`: where an HTTP/1 connection counts its requests and
/// responses (`None`: HTTP/2). Once the listener drains, an HTTP/1 answer says
/// `Connection: close`.
fn gate_service<M: Gate>(
    shared: Arc<Shared<M>>,
    closing: Arc<AtomicBool>,
    peer: SocketAddr,
    tls: Option<Option<eg_protocols::PeerCertificates>>,
    activity: Option<Arc<Activity>>,
) -> impl hyper::service::HttpService<
    hyper::body::Incoming,
    ResBody = Watched<M::Body>,
    Error = Infallible,
    Future = impl Future<Output = Result<http::Response<Watched<M::Body>>, Infallible>> + Send,
> {
    let h1 = activity.is_some();
    hyper::service::service_fn(move |mut req: http::Request<hyper::body::Incoming>| {
        if let Some(certs) = &tls {
            eg_protocols::mark_tls(req.extensions_mut(), certs.as_ref());
        }
        let guard = activity.as_ref().map(|a| {
            use http_body::Body as _;
            a.request(!req.body().is_end_stream())
        });
        let mux = shared.mux.load_full();
        let closing = h1 && closing.load(Ordering::Acquire);
        async move {
            // Boxed: hyper keeps (and moves) the future of every request it serves, and
            // the handler's future is kilobytes; a pointer is all that moves this way.
            let mut handled = Box::pin(mux.handle(req.map(eg_protocols::Body::Incoming), peer));
            let mut resp = match (CatchUnwind {
                inner: handled.as_mut(),
            })
            .await
            {
                Ok(resp) => resp,
                Err(_) => {
                    tracing::error!(%peer, "a request handler panicked; answered 500");
                    M::internal_error()
                }
            };
            // A 101 hands the connection over; it must keep its `Connection: Upgrade`.
            if closing && resp.status() != http::StatusCode::SWITCHING_PROTOCOLS {
                resp.headers_mut()
                    .insert(http::header::CONNECTION, HeaderValue::from_static("close"));
            }
            Ok::<_, Infallible>(resp.map(|b| Watched::new(b, guard)))
        }
    })
}

/// The size of the future of a plain connection's task, for a test that keeps it within
/// its allocation class.
#[cfg(test)]
pub(crate) fn plain_connection_future_size<M: Gate>() -> usize {
    fn returned<A, B, C, D, E, R>(_: fn(A, B, C, D, E) -> R) -> usize {
        size_of::<R>()
    }
    returned(serve_plain::<M>)
}

/// A TLS connection after its handshake: the client's certificate chain (mutual TLS only)
/// and whether it negotiated HTTP/2.
fn negotiated<S>(
    tls_stream: tokio_rustls::server::TlsStream<S>,
) -> (
    tokio_rustls::server::TlsStream<S>,
    Option<eg_protocols::PeerCertificates>,
    bool,
) {
    let session = tls_stream.get_ref().1;
    let certs = session.peer_certificates().map(|chain| {
        eg_protocols::PeerCertificates(
            chain
                .iter()
                .map(|c| Bytes::copy_from_slice(c.as_ref()))
                .collect(),
        )
    });
    let h2 = session.alpn_protocol() == Some(b"h2");
    (tls_stream, certs, h2)
}

/// Serves an HTTP/2 connection with prior knowledge until it ends: its first bytes within
/// the handshake deadline, then streams until the listener drains, the connection has been
/// idle for `maxConnectionIdle` or is `maxConnectionAge` old; then GOAWAY, and after
/// `maxConnectionAgeGrace` the connection is closed even with streams still open.
async fn serve_h2c<M: Gate>(
    stream: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared<M>>,
    cfg: &H2cConfig,
    protocols: &Protocols,
    drain: &ConnDrain,
) -> hyper::Result<()> {
    let mut byte = [0u8; 1];
    match tokio::time::timeout(protocols.tls_handshake, stream.peek(&mut byte)).await {
        Ok(Ok(n)) if n > 0 => {}
        _ => {
            tracing::debug!(%peer, "no HTTP/2 preface within the deadline; closing");
            return Ok(());
        }
    }
    let activity = h2c::Activity::new();
    let streams = activity.clone();
    let service = hyper::service::service_fn(move |req| {
        let mux = shared.mux.load_full();
        let open = streams.open();
        async move {
            // Boxed for the reason given in `gate_service`.
            let mut handled = Box::pin(mux.handle(req.map(eg_protocols::Body::Incoming), peer));
            let resp = match (CatchUnwind {
                inner: handled.as_mut(),
            })
            .await
            {
                Ok(resp) => resp,
                Err(_) => {
                    tracing::error!(%peer, "a request handler panicked; answered an internal error");
                    M::internal_error()
                }
            };
            Ok::<_, Infallible>(resp.map(|b| h2c::Tracked::new(b, open)))
        }
    });
    let conn = protocols.h2.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    let ending = h2c::ending(cfg, &activity);
    tokio::select! {
        r = conn.as_mut() => return r,
        _ = drain.reached(Phase::Draining) => {}
        _ = ending => tracing::debug!(%peer, "connection idle or old; sending GOAWAY"),
    }
    conn.as_mut().graceful_shutdown();
    match cfg.max_age_grace {
        Some(grace) => match tokio::time::timeout(grace, conn).await {
            Ok(r) => r,
            Err(_) => {
                tracing::debug!(%peer, "streams still open after maxConnectionAgeGrace; closing");
                Ok(())
            }
        },
        None => conn.await,
    }
}

/// Serves an HTTP/1 connection (plain, or TLS that negotiated HTTP/1.1) until it ends: the
/// gate's own codec ([`h1`]) serves requests without a body; a request it leaves to hyper
/// (a body, an upgrade, ...) is served by hyper on the same stream, with the bytes already
/// read, until the connection is idle again, and the codec takes it back. `service` makes
/// hyper's service, given where the connection counts its requests and responses.
///
/// hyper lets the connection go at the first [`IDLE_SWEEP`] tick that finds it idle, not
/// after every answer: taking a connection back from hyper and handing it over again costs
/// more than a request on a busy connection. Once the listener's drain reaches
/// [`Phase::Closing`], an idle connection is closed and a busy one after its request.
///
/// While hyper has the connection, the same sweep bounds a request head (hyper's header
/// timer would cost a timer per request): a connection found reading a head — in hyper, no
/// request open, nothing left to write, not idle — with no response completed for the
/// idle timeout is closed, also when the head trickles in byte by byte.
///
/// The future owns what the connection holds of its listener (`guard`, `drain`,
/// `protocols`), so that it is the whole task of a plain connection, with nothing around
/// it; it lets the connection's slot go when it ends.
///
/// Not an `async fn`: one keeps each argument twice in its future, as the argument and as
/// the local it is moved into, and a TLS transport is over a kilobyte that every idle
/// HTTPS connection would carry twice. The stream goes into the future once, as `io`.
fn serve_http1<M: Gate, T: h1::Transport, S, B>(
    transport: T,
    service: impl FnOnce(Arc<Activity>) -> S,
    guard: ConnGuard<M>,
    drain: ConnDrain,
    protocols: Arc<Protocols>,
    peer: SocketAddr,
) -> impl Future<Output = ()>
where
    S: hyper::service::HttpService<hyper::body::Incoming, ResBody = B> + Unpin,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: http_body::Body + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let activity = Activity::new();
    let mut io = ParkableIo::new(transport, activity.clone());
    let mut service = service(activity.clone());
    async move {
        let mut own = h1::Conn::new(Instant::now(), protocols.first_byte);
        // Set once the drain starts (before it reaches `Closing`): until then the `closing`
        // future, registered by its first poll, need not be polled again on every wake-up.
        let draining = &*drain.closing;
        let result = 'served: loop {
            match own
                .serve(io.stream_mut(), &guard.0, &peer, &protocols.codec, &drain)
                .await
            {
                h1::Outcome::Ended => break 'served Ok(()),
                h1::Outcome::Elsewhere(bytes) => io.replay(bytes),
            }
            let closing = drain.reached(Phase::Closing);
            tokio::pin!(closing);
            activity.resumed();
            // Completes at the first sweep after this point; re-armed after each.
            let sweep = protocols.codec.idle_sweep.notified();
            tokio::pin!(sweep);
            // Boxed: hyper's connection state is large and serves only the requests the codec
            // leaves to it, while every connection's task would carry its room.
            let mut conn = eg_protocols::boxed_in_place!(protocols
                .h1
                .serve_connection(io, service)
                .with_upgrades());
            let mut shutting_down = false;
            // Since when the connection has been reading a request head, and how many
            // responses it had completed then: a response completed since means progress.
            let mut head_since: Option<(Instant, u32)> = Some((Instant::now(), 0));
            let mut closing_registered = false;
            let ended = std::future::poll_fn(|cx| {
            if !shutting_down
                && (!closing_registered || draining.load(Ordering::Acquire))
                && closing.as_mut().poll(cx).is_ready()
            {
                Pin::new(&mut *conn).graceful_shutdown();
                shutting_down = true;
            }
            closing_registered = true;
            loop {
                match Pin::new(&mut *conn).poll(cx) {
                    Poll::Ready(r) => return Poll::Ready(Some(r)),
                    // A request in the service needs no sweep.
                    Poll::Pending if shutting_down || activity.serving() => return Poll::Pending,
                    Poll::Pending => {}
                }
                if sweep.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                if activity.idle() {
                    return Poll::Ready(None);
                }
                if activity.reading_head() {
                    let now = Instant::now();
                    let done = activity.responses();
                    let since = match head_since {
                        Some((t, d)) if d == done => t,
                        _ => {
                            head_since = Some((now, done));
                            now
                        }
                    };
                    if protocols
                        .codec
                        .idle_timeout
                        .is_some_and(|limit| now.duration_since(since) >= limit)
                    {
                        tracing::debug!(%peer, "request head unfinished within keepAliveTimeout; closing");
                        return Poll::Ready(Some(Ok(())));
                    }
                } else {
                    head_since = None;
                }
                // Wait for the next sweep (the new future is polled by the loop, which
                // registers it).
                sweep.set(protocols.codec.idle_sweep.notified());
            }
        })
        .await;
            if let Some(result) = ended {
                break 'served result;
            }
            let Some(parts) = (*conn).into_parts() else {
                break 'served Ok(());
            };
            io = parts.io;
            // The unparsed bytes are copied out: hyper's read buffer, which they are a view
            // of, is let go with the rest.
            own.resume(&parts.read_buf, protocols.codec.idle_timeout);
            service = parts.service;
        };
        if let Err(e) = result {
            tracing::debug!(%peer, error = %e, "connection ended with an error");
        }
        drop(guard);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_backoff_doubles_up_to_a_second() {
        assert_eq!(accept_backoff(1), Duration::from_millis(5));
        assert_eq!(accept_backoff(2), Duration::from_millis(10));
        assert_eq!(accept_backoff(8), Duration::from_millis(640));
        assert_eq!(accept_backoff(9), Duration::from_secs(1));
        assert_eq!(accept_backoff(u32::MAX), Duration::from_secs(1));
    }

    #[test]
    fn open_files_limit_is_read() {
        let text = "Limit                     Soft Limit           Hard Limit           Units     \n\
                    Max cpu time              unlimited            unlimited            seconds   \n\
                    Max open files            1024                 524288               files     \n";
        assert_eq!(parse_open_files_limit(text), Some(1024));
        assert_eq!(
            parse_open_files_limit("Max open files unlimited unlimited files"),
            None
        );
        assert!(open_files_limit().is_some());
    }
}
