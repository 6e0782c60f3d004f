//! Keep-alive connections to one plain-HTTP upstream (`http://host:port`).
//!
//! The request path of a proxied request with the generic pooled client hashes the pool key,
//! locks the shared pool map, builds a lazy connect future and spawns a task per request to
//! hand the connection back. Here every [`Server`](crate::server::Server) holds its
//! [`HostPool`] directly: a checkout pops an idle sender under a short lock, and the sender
//! goes back once its response is read. Connections are HTTP/1.1, `TCP_NODELAY` on, closed
//! after [`POOL_IDLE_TIMEOUT`] idle. `https` servers keep using the generic client.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use eg_protocols::Body;
use http::uri::Authority;
use http::{Request, Response};
use hyper::body::Incoming;
use hyper::client::conn::http1::{Builder, SendRequest};
use hyper_util::rt::TokioIo;
use parking_lot::Mutex;
use tokio::net::TcpStream;

use super::{CONNECT_TIMEOUT, POOL_IDLE_TIMEOUT, TCP_KEEPALIVE};

/// An idle connection.
struct Idle {
    tx: SendRequest<Body>,
    since: Instant,
}

/// How many idle connections the host pools of one client keep together (Go's
/// `Transport.MaxIdleConns`, the Proxy's `maxIdleConns`). A connection given back when the
/// budget is spent is closed.
#[derive(Debug)]
pub(crate) struct IdleBudget {
    idle: AtomicUsize,
    max: usize,
}

impl IdleBudget {
    /// A budget of `max` idle connections (`usize::MAX`: no limit).
    pub(crate) fn new(max: usize) -> IdleBudget {
        IdleBudget {
            idle: AtomicUsize::new(0),
            max,
        }
    }

    /// Takes a place for one more idle connection, if one is left.
    fn take(&self) -> bool {
        self.idle
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.max).then_some(n + 1)
            })
            .is_ok()
    }

    /// Gives back the places of `n` connections that are no longer idle.
    fn release(&self, n: usize) {
        if n > 0 {
            self.idle.fetch_sub(n, Ordering::AcqRel);
        }
    }

    /// The idle connections counted now.
    #[cfg(test)]
    pub fn idle(&self) -> usize {
        self.idle.load(Ordering::Acquire)
    }
}

/// The idle connections to one upstream `host:port`, shared by every pool (and generation)
/// with the same client settings.
pub struct HostPool {
    host: String,
    port: u16,
    idle: Mutex<Vec<Idle>>,
    max_idle: usize,
    /// Shared with the other hosts of the same client.
    budget: Arc<IdleBudget>,
}

impl Drop for HostPool {
    fn drop(&mut self) {
        self.budget.release(self.idle.get_mut().len());
    }
}

impl std::fmt::Debug for HostPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostPool")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("max_idle", &self.max_idle)
            .finish()
    }
}

/// Why sending failed.
#[derive(Debug)]
pub enum SendError {
    /// No connection could be made.
    Connect(std::io::Error),
    /// The exchange failed after the request was handed to a connection.
    Http(hyper::Error),
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendError::Connect(e) => write!(f, "connect: {e}"),
            SendError::Http(e) => write!(f, "{e}"),
        }
    }
}

/// A response and the connection it came on; give the connection back with
/// [`HostPool::put`] once the response body has been read.
pub struct Sent {
    /// The response (its body still streaming).
    pub response: Response<Incoming>,
    /// The connection.
    pub tx: SendRequest<Body>,
}

impl HostPool {
    /// A pool for `authority` (port 80 when it has none) keeping up to `max_idle` idle
    /// connections, and no more than `budget` allows for all hosts together; inside a
    /// runtime it also starts a task closing expired idle connections.
    pub(crate) fn new(
        authority: &Authority,
        max_idle: usize,
        budget: Arc<IdleBudget>,
    ) -> Arc<HostPool> {
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let pool = Arc::new(HostPool {
            host,
            port: authority.port_u16().unwrap_or(80),
            idle: Mutex::new(Vec::new()),
            max_idle,
            budget,
        });
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(reap(Arc::downgrade(&pool)));
        }
        pool
    }

    /// Sends `req` (origin-form URI, `Host` set) on an idle connection, or on a new one.
    ///
    /// A request that an idle connection turned out unable to take (closed meanwhile) was
    /// never written, so it goes to the next idle connection or a new one, whatever its
    /// method.
    pub async fn send(&self, mut req: Request<Body>) -> Result<Sent, SendError> {
        loop {
            let (mut tx, reused) = match self.take_idle() {
                Some(tx) => (tx, true),
                None => (self.connect().await?, false),
            };
            if reused && tx.ready().await.is_err() {
                continue;
            }
            match tx.try_send_request(req).await {
                Ok(response) => return Ok(Sent { response, tx }),
                Err(mut e) => match e.take_message() {
                    Some(unsent) if reused => req = unsent,
                    _ => return Err(SendError::Http(e.into_error())),
                },
            }
        }
    }

    /// Gives a connection back after its response was read (dropped when closed, when
    /// `max_idle` are already idle here, or when the client's idle budget is spent).
    pub fn put(&self, tx: SendRequest<Body>) {
        if tx.is_closed() {
            return;
        }
        let mut idle = self.idle.lock();
        if idle.len() < self.max_idle && self.budget.take() {
            idle.push(Idle {
                tx,
                since: Instant::now(),
            });
        }
    }

    /// Gives a connection back once it can take the next request (for a response whose
    /// body is still streaming to the client).
    pub fn put_when_ready(self: &Arc<Self>, mut tx: SendRequest<Body>) {
        let pool = Arc::downgrade(self);
        tokio::spawn(async move {
            if tx.ready().await.is_ok() {
                if let Some(p) = pool.upgrade() {
                    p.put(tx);
                }
            }
        });
    }

    /// The most recently used idle connection that is neither closed nor expired.
    fn take_idle(&self) -> Option<SendRequest<Body>> {
        let mut idle = self.idle.lock();
        while let Some(i) = idle.pop() {
            self.budget.release(1);
            if !i.tx.is_closed() && i.since.elapsed() < POOL_IDLE_TIMEOUT {
                return Some(i.tx);
            }
        }
        None
    }

    async fn connect(&self) -> Result<SendRequest<Body>, SendError> {
        let stream = tokio::time::timeout(
            CONNECT_TIMEOUT,
            TcpStream::connect((self.host.as_str(), self.port)),
        )
        .await
        .map_err(|_| {
            SendError::Connect(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "connect timed out",
            ))
        })?
        .map_err(SendError::Connect)?;
        let _ = stream.set_nodelay(true);
        let keepalive = socket2::TcpKeepalive::new().with_time(TCP_KEEPALIVE);
        let _ = socket2::SockRef::from(&stream).set_tcp_keepalive(&keepalive);
        let (tx, conn) = Builder::new()
            .handshake(TokioIo::new(stream))
            .await
            .map_err(SendError::Http)?;
        tokio::spawn(async move {
            if let Err(e) = conn.with_upgrades().await {
                tracing::debug!(error = %e, "upstream connection ended with an error");
            }
        });
        Ok(tx)
    }

    /// Closes idle connections past the idle timeout.
    fn expire(&self) {
        let mut idle = self.idle.lock();
        let before = idle.len();
        idle.retain(|i| !i.tx.is_closed() && i.since.elapsed() < POOL_IDLE_TIMEOUT);
        self.budget.release(before - idle.len());
    }

    /// The idle connections kept now.
    pub fn idle_count(&self) -> usize {
        self.idle.lock().len()
    }
}

/// Every [`REAP_INTERVAL`], closes the expired idle connections of `pool` while it exists.
async fn reap(pool: Weak<HostPool>) {
    let mut tick = tokio::time::interval(REAP_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tick.tick().await;
        match pool.upgrade() {
            Some(p) => p.expire(),
            None => return,
        }
    }
}

/// How often idle connections are checked for expiry.
const REAP_INTERVAL: Duration = Duration::from_secs(1);

#[cfg(test)]
mod tests {
    use super::*;
    use eg_testkit::{Reply, Upstream};
    use http_body_util::BodyExt;

    /// Sends one GET through `pool`, reads the answer and gives the connection back.
    async fn exchange(pool: &HostPool, authority: &Authority) {
        let req = Request::builder()
            .uri("/")
            .header("host", authority.as_str())
            .body(Body::default())
            .unwrap();
        let sent = pool.send(req).await.unwrap();
        let _ = sent.response.into_body().collect().await.unwrap();
        pool.put(sent.tx);
    }

    #[tokio::test]
    async fn max_idle_conns_bounds_the_idle_connections_of_all_hosts_together() {
        let a = Upstream::start(|_| Reply::text(200, "a")).await;
        let b = Upstream::start(|_| Reply::text(200, "b")).await;
        let auth = |u: &Upstream| -> Authority { u.url()["http://".len()..].parse().unwrap() };
        let (aa, ba) = (auth(&a), auth(&b));
        let budget = Arc::new(IdleBudget::new(1));
        let pa = HostPool::new(&aa, 10, budget.clone());
        let pb = HostPool::new(&ba, 10, budget.clone());

        exchange(&pa, &aa).await;
        assert_eq!((pa.idle_count(), budget.idle()), (1, 1));
        // The budget is spent: b's connection is closed rather than kept.
        exchange(&pb, &ba).await;
        assert_eq!((pb.idle_count(), budget.idle()), (0, 1));
        // a's idle connection is taken and given back: still one.
        exchange(&pa, &aa).await;
        assert_eq!((pa.idle_count(), budget.idle()), (1, 1));
        // A pool that goes away gives its places back.
        drop(pa);
        assert_eq!(budget.idle(), 0);
        exchange(&pb, &ba).await;
        assert_eq!((pb.idle_count(), budget.idle()), (1, 1));
    }

    #[tokio::test]
    async fn no_limit_keeps_up_to_the_per_host_bound() {
        let a = Upstream::start(|_| Reply::text(200, "a")).await;
        let aa: Authority = a.url()["http://".len()..].parse().unwrap();
        let budget = Arc::new(IdleBudget::new(usize::MAX));
        let pa = HostPool::new(&aa, 1, budget.clone());
        // Two connections in use at once; only one is kept idle afterwards.
        let mk = || {
            Request::builder()
                .uri("/")
                .header("host", aa.as_str())
                .body(Body::default())
                .unwrap()
        };
        let s1 = pa.send(mk()).await.unwrap();
        let s2 = pa.send(mk()).await.unwrap();
        let _ = s1.response.into_body().collect().await.unwrap();
        let _ = s2.response.into_body().collect().await.unwrap();
        pa.put(s1.tx);
        pa.put(s2.tx);
        assert_eq!((pa.idle_count(), budget.idle()), (1, 1));
    }
}
