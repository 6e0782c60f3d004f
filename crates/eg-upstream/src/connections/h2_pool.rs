//! HTTP/2 with prior knowledge (h2c) connections to upstream servers, for gRPC.
//!
//! HTTP/2 multiplexes calls over one connection, so a host keeps a few connections open
//! (at most `max_per_host`), each shared by many calls at once; a call takes the first
//! connection that is still open, and a new one is opened only when none is.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use eg_protocols::Body;
use http::uri::Authority;
use hyper::client::conn::http2::SendRequest;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use parking_lot::Mutex;
use tokio::net::TcpStream;

/// Why no connection could be had.
#[derive(Debug)]
pub enum H2Error {
    /// Connecting (or the HTTP/2 handshake) did not finish in time.
    ConnectTimeout,
    /// No connection was ready within the borrow timeout.
    BorrowTimeout,
    /// Connecting or the handshake failed.
    Connect(String),
}

impl std::fmt::Display for H2Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            H2Error::ConnectTimeout => f.write_str("connect timeout"),
            H2Error::BorrowTimeout => f.write_str("no connection ready within the borrow timeout"),
            H2Error::Connect(e) => write!(f, "connect failed: {e}"),
        }
    }
}

impl std::error::Error for H2Error {}

/// Settings of an [`H2Pool`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct H2Settings {
    /// Most connections kept per `host:port`.
    pub max_per_host: usize,
    /// Deadline for TCP connect plus the HTTP/2 handshake (`None` = the OS's).
    pub connect_timeout: Option<Duration>,
    /// Deadline for a connection to accept one more stream (`None` = no deadline).
    pub borrow_timeout: Option<Duration>,
}

/// h2c connections per `host:port`, shared by the calls to it.
#[derive(Debug)]
pub struct H2Pool {
    settings: Mutex<H2Settings>,
    hosts: Mutex<HashMap<Authority, Arc<Host>>>,
}

#[derive(Debug, Default)]
struct Host {
    conns: Mutex<Vec<SendRequest<Body>>>,
    /// Serialises opening connections, so a burst of calls opens one, not one each.
    opening: tokio::sync::Mutex<()>,
}

impl H2Pool {
    /// An empty pool.
    pub fn new(settings: H2Settings) -> H2Pool {
        H2Pool {
            settings: Mutex::new(settings),
            hosts: Mutex::default(),
        }
    }

    /// Changes the settings (a new generation of the proxy keeps the connections).
    pub fn set_settings(&self, settings: H2Settings) {
        *self.settings.lock() = settings;
    }

    /// The number of open connections to `authority`.
    pub fn open_connections(&self, authority: &Authority) -> usize {
        self.hosts.lock().get(authority).map_or(0, |h| {
            let mut c = h.conns.lock();
            c.retain(|s| !s.is_closed());
            c.len()
        })
    }

    /// A connection to `authority` ready for one more stream.
    pub async fn get(&self, authority: &Authority) -> Result<SendRequest<Body>, H2Error> {
        let settings = *self.settings.lock();
        let borrow = async {
            let host = self
                .hosts
                .lock()
                .entry(authority.clone())
                .or_default()
                .clone();
            let mut sender = match host.take_open() {
                Some(s) => s,
                None => {
                    let _opening = host.opening.lock().await;
                    match host.take_open() {
                        Some(s) => s,
                        None => {
                            let s = connect(authority, settings.connect_timeout).await?;
                            let mut conns = host.conns.lock();
                            if conns.len() < settings.max_per_host.max(1) {
                                conns.push(s.clone());
                            }
                            s
                        }
                    }
                }
            };
            sender
                .ready()
                .await
                .map_err(|e| H2Error::Connect(e.to_string()))?;
            Ok(sender)
        };
        match settings.borrow_timeout {
            Some(d) => tokio::time::timeout(d, borrow)
                .await
                .unwrap_or(Err(H2Error::BorrowTimeout)),
            None => borrow.await,
        }
    }
}

impl Host {
    /// A clone of the first open connection, dropping closed ones.
    fn take_open(&self) -> Option<SendRequest<Body>> {
        let mut conns = self.conns.lock();
        conns.retain(|s| !s.is_closed());
        conns.first().cloned()
    }
}

async fn connect(
    authority: &Authority,
    timeout: Option<Duration>,
) -> Result<SendRequest<Body>, H2Error> {
    let open = async {
        let stream = TcpStream::connect(authority.as_str())
            .await
            .map_err(|e| H2Error::Connect(e.to_string()))?;
        let _ = stream.set_nodelay(true);
        let (sender, conn) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
            .timer(TokioTimer::new())
            .adaptive_window(true)
            .handshake(TokioIo::new(stream))
            .await
            .map_err(|e| H2Error::Connect(e.to_string()))?;
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "upstream HTTP/2 connection ended");
            }
        });
        Ok(sender)
    };
    match timeout {
        Some(d) => tokio::time::timeout(d, open)
            .await
            .unwrap_or(Err(H2Error::ConnectTimeout)),
        None => open.await,
    }
}
