//! The listener of a server: bind (retried every 10 s on failure), accept with a
//! connection limit, TLS, HTTP/1.1 and HTTP/2 (ALPN) through hyper, graceful shutdown.

use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use arc_swap::ArcSwap;
use eg_supervisor::metrics::Cell;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use parking_lot::Mutex;
use serde_json::{json, Map, Value};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify};
use tokio_rustls::TlsAcceptor;

use super::mux::{Mux, SharedStats};

/// Time between attempts to bind a port that failed.
pub const RETRY_INTERVAL: Duration = Duration::from_secs(10);
/// How long a stopped listener waits for its connections to finish.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a client may take to complete the TLS handshake.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Listen backlog.
const BACKLOG: i32 = 1024;
/// Pause after an accept error (e.g. too many open files).
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(50);
/// Most concurrent HTTP/2 streams per connection.
const H2_MAX_STREAMS: u32 = 256;
/// Entries in the status's `topN`.
const TOP_N: usize = 10;

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
    fn as_str(self) -> &'static str {
        match self {
            State::Nil => "nil",
            State::Running => "running",
            State::Failed => "failed",
            State::Closed => "closed",
        }
    }
}

/// What the listener task and the object share.
pub(crate) struct Shared {
    /// Server name.
    pub name: String,
    /// The current configuration.
    pub mux: ArcSwap<Mux>,
    /// `maxConnections`.
    pub max_conns: AtomicUsize,
    active: AtomicUsize,
    slot_freed: Notify,
    state: Mutex<(State, String)>,
    health: Arc<Cell>,
    /// Statistics kept across generations.
    pub stats: Arc<SharedStats>,
}

impl Shared {
    /// Shared state for a server.
    pub fn new(
        name: &str,
        mux: Mux,
        max_conns: usize,
        health: Arc<Cell>,
        stats: Arc<SharedStats>,
    ) -> Shared {
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
        let mut top: Vec<(String, Arc<super::stats::RequestStats>)> = self
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

/// A running listener task.
pub(crate) struct Listener {
    /// The settings it runs with.
    pub config: ListenerConfig,
    stop: watch::Sender<bool>,
    released: watch::Receiver<bool>,
}

impl Listener {
    /// Starts the listener task; when `after` is given, binding waits until that
    /// listener has released its socket (a restart on the same port).
    pub fn start(
        shared: Arc<Shared>,
        config: ListenerConfig,
        after: Option<&Listener>,
    ) -> Listener {
        let (stop, stop_rx) = watch::channel(false);
        let (released_tx, released) = watch::channel(false);
        let wait = after.map(|l| l.released.clone());
        let cfg = config.clone();
        tokio::spawn(async move {
            if let Some(mut w) = wait {
                let _ = w.wait_for(|v| *v).await;
            }
            run(shared, cfg, stop_rx, released_tx).await;
        });
        Listener {
            config,
            stop,
            released,
        }
    }

    /// Stops accepting, releases the socket and drains connections (in the background).
    pub fn stop(&self) {
        let _ = self.stop.send(true);
    }
}

fn bind(cfg: &ListenerConfig) -> std::io::Result<std::net::TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let addr: SocketAddr = if cfg.address.is_empty() {
        SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), cfg.port)
    } else {
        let host = cfg.address.trim_start_matches('[').trim_end_matches(']');
        (host, cfg.port).to_socket_addrs()?.next().ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("address {:?} does not resolve", cfg.address),
            )
        })?
    };
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
    match open(addr) {
        // Hosts without IPv6: all IPv4 interfaces instead.
        Err(e) if cfg.address.is_empty() && e.kind() != std::io::ErrorKind::AddrInUse => open(
            SocketAddr::new(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), cfg.port),
        ),
        r => r,
    }
}

async fn run(
    shared: Arc<Shared>,
    cfg: ListenerConfig,
    mut stop: watch::Receiver<bool>,
    released: watch::Sender<bool>,
) {
    let graceful = GracefulShutdown::new();
    loop {
        if *stop.borrow() {
            break;
        }
        match bind(&cfg).and_then(TcpListener::from_std) {
            Ok(listener) => {
                tracing::info!(server = %shared.name, port = cfg.port, "listening");
                shared.set_state(State::Running, String::new());
                accept_loop(&shared, &cfg, listener, &mut stop, &graceful).await;
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
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(server = %shared.name, "connections still open after the drain timeout");
    }
}

/// Turns a panic while polling `inner` into an `Err`, so one failing request gets a 500
/// instead of taking its connection down.
struct CatchUnwind<'a, F> {
    inner: Pin<&'a mut F>,
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
struct ConnGuard(Arc<Shared>);

impl Drop for ConnGuard {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::AcqRel);
        self.0.slot_freed.notify_one();
    }
}

struct Builders {
    h1: Builder<TokioExecutor>,
    h2: Builder<TokioExecutor>,
}

fn builders(cfg: &ListenerConfig) -> Builders {
    let mut h1 = Builder::new(TokioExecutor::new()).http1_only();
    h1.http1()
        .timer(TokioTimer::new())
        .keep_alive(cfg.keep_alive)
        .header_read_timeout(cfg.keep_alive_timeout);
    let mut h2 = Builder::new(TokioExecutor::new()).http2_only();
    h2.http2()
        .timer(TokioTimer::new())
        .adaptive_window(true)
        .max_concurrent_streams(H2_MAX_STREAMS);
    Builders { h1, h2 }
}

async fn accept_loop(
    shared: &Arc<Shared>,
    cfg: &ListenerConfig,
    listener: TcpListener,
    stop: &mut watch::Receiver<bool>,
    graceful: &GracefulShutdown,
) {
    let builders = Arc::new(builders(cfg));
    let tls = cfg.tls.clone().map(TlsAcceptor::from);
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
            Ok(a) => a,
            Err(e) => {
                tracing::debug!(server = %shared.name, error = %e, "accept failed");
                tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        shared.active.fetch_add(1, Ordering::AcqRel);
        let guard = ConnGuard(shared.clone());
        let watcher = graceful.watcher();
        let builders = builders.clone();
        let tls = tls.clone();
        tokio::spawn(serve_connection(
            stream, peer, guard, watcher, builders, tls,
        ));
    }
}

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    guard: ConnGuard,
    watcher: Watcher,
    builders: Arc<Builders>,
    tls: Option<TlsAcceptor>,
) {
    let shared = guard.0.clone();
    let service = hyper::service::service_fn(move |req| {
        let mux = shared.mux.load_full();
        async move {
            let handled = std::pin::pin!(mux.handle(req, peer));
            Ok::<_, Infallible>(match (CatchUnwind { inner: handled }).await {
                Ok(resp) => resp,
                Err(_) => {
                    tracing::error!(%peer, "a request handler panicked; answered 500");
                    super::mux::internal_error()
                }
            })
        }
    });
    let result = match tls {
        None => {
            let conn = builders
                .h1
                .serve_connection_with_upgrades(TokioIo::new(stream), service)
                .into_owned();
            watcher.watch(conn).await
        }
        Some(acceptor) => {
            let tls_stream =
                match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
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
            let h2 = tls_stream.get_ref().1.alpn_protocol() == Some(b"h2");
            let builder = if h2 { &builders.h2 } else { &builders.h1 };
            let conn = builder
                .serve_connection_with_upgrades(TokioIo::new(tls_stream), service)
                .into_owned();
            watcher.watch(conn).await
        }
    };
    if let Err(e) = result {
        tracing::debug!(%peer, error = %e, "connection ended with an error");
    }
    drop(guard);
}
