//! Keep-alive connections to one plain-HTTP upstream (`http://host:port`).
//!
//! Every [`Server`](crate::server::Server) holds its [`HostPool`] directly: a checkout pops
//! an idle connection under a short lock, the request's own task writes the request and
//! reads the answer on it (`h1`), and the connection goes back once the answer's body has
//! been read. Connections are HTTP/1.1, `TCP_NODELAY` on, closed after
//! [`POOL_IDLE_TIMEOUT`] idle. Request bodies larger than [`MAX_WRITE_BEFORE_READ`] or of
//! unknown length go through hyper's connection (`streamed.rs`), which writes the body
//! while it reads the answer; those connections are kept in a list of their own. `https`
//! servers keep using the generic client.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use eg_protocols::{Body, BodyError};
use http::uri::Authority;
use http::{Request, Response};
use hyper::client::conn::http1::{Builder, SendRequest};
use hyper_util::rt::TokioIo;
use parking_lot::Mutex;
use tokio::net::TcpStream;

use super::h1::{Conn, H1Error, RequestHead, MAX_WRITE_BEFORE_READ};
use super::streamed::GiveBack;
use super::{CONNECT_TIMEOUT, POOL_IDLE_TIMEOUT, TCP_KEEPALIVE};

/// An idle connection.
struct Idle<C> {
    conn: C,
    since: Instant,
}

/// The idle connections of a host: the codec's, and hyper's for streamed request bodies.
struct IdleLists {
    codec: Vec<Idle<Conn>>,
    streamed: Vec<Idle<SendRequest<Body>>>,
}

impl IdleLists {
    fn len(&self) -> usize {
        self.codec.len() + self.streamed.len()
    }
}

/// A connection kind the idle lists hold.
trait Pooled: Sized {
    /// Its list.
    fn list(lists: &mut IdleLists) -> &mut Vec<Idle<Self>>;
    /// Whether it can still take a request.
    fn usable(&mut self) -> bool;
}

impl Pooled for Conn {
    fn list(lists: &mut IdleLists) -> &mut Vec<Idle<Conn>> {
        &mut lists.codec
    }

    fn usable(&mut self) -> bool {
        self.is_usable()
    }
}

impl Pooled for SendRequest<Body> {
    fn list(lists: &mut IdleLists) -> &mut Vec<Idle<SendRequest<Body>>> {
        &mut lists.streamed
    }

    fn usable(&mut self) -> bool {
        !self.is_closed()
    }
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
    idle: Mutex<IdleLists>,
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
    /// The exchange on a kept-alive connection failed.
    Exchange(H1Error),
    /// The exchange of a streamed request body (through hyper) failed.
    Http(hyper::Error),
    /// The request body could not be read from the client.
    Body(BodyError),
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendError::Connect(e) => write!(f, "connect: {e}"),
            SendError::Exchange(e) => write!(f, "{e}"),
            SendError::Http(e) => write!(f, "{e}"),
            SendError::Body(e) => write!(f, "{e}"),
        }
    }
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
            idle: Mutex::new(IdleLists {
                codec: Vec::new(),
                streamed: Vec::new(),
            }),
            max_idle,
            budget,
        });
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(reap(Arc::downgrade(&pool)));
        }
        pool
    }

    /// Sends `req` (origin-form URI, `Host` set) on an idle connection, or on a new one,
    /// and returns the answer; its body gives the connection back when read to its end.
    /// `read_whole`: the caller buffers the answer's body, so a short one is read before
    /// the answer is returned (and comes as [`Body::Full`]).
    ///
    /// A request body of a known length up to [`MAX_WRITE_BEFORE_READ`] bytes is read
    /// first (if it is still arriving) and sent whole by the request's task; others
    /// stream through hyper. An idle connection the server closed is noticed before it is
    /// written to and skipped.
    pub async fn send(
        self: &Arc<Self>,
        req: Request<Body>,
        read_whole: bool,
    ) -> Result<Response<Body>, SendError> {
        let (parts, body) = req.into_parts();
        if !Self::sends_whole(&body) {
            return self.send_streamed(Request::from_parts(parts, body)).await;
        }
        self.send_head(&parts, body, read_whole).await
    }

    /// Whether [`send_head`](Self::send_head) can send `body`: its length is known and at
    /// most [`MAX_WRITE_BEFORE_READ`] bytes.
    pub fn sends_whole(body: &Body) -> bool {
        body.known_len().is_some_and(|n| n <= MAX_WRITE_BEFORE_READ)
    }

    /// [`send`](Self::send) for a request given as the head to write and its body, which
    /// [`sends_whole`](Self::sends_whole) must accept. A body still arriving is read whole
    /// first; one that turns out longer than [`MAX_WRITE_BEFORE_READ`] (its announced
    /// length was wrong) fails with [`SendError::Body`] rather than be buffered further.
    pub async fn send_head(
        self: &Arc<Self>,
        head: &(impl RequestHead + Sync),
        mut body: Body,
        read_whole: bool,
    ) -> Result<Response<Body>, SendError> {
        let bytes = match body {
            Body::Empty => bytes::Bytes::new(),
            Body::Full(b) => b,
            _ => body
                .buffer(Some(MAX_WRITE_BEFORE_READ))
                .await
                .map_err(SendError::Body)?,
        };
        let conn = match self.take_idle() {
            Some(c) => c,
            None => Conn::new(self.connect().await?),
        };
        conn.exchange(head, bytes, read_whole, self)
            .await
            .map_err(SendError::Exchange)
    }

    /// Sends a request whose body streams through hyper, on an idle hyper connection or a
    /// new one. A request that an idle connection turned out unable to take (closed
    /// meanwhile) was never written, so it goes to the next one, whatever its method.
    async fn send_streamed(
        self: &Arc<Self>,
        mut req: Request<Body>,
    ) -> Result<Response<Body>, SendError> {
        loop {
            let (mut tx, reused) = match self.take_streamed() {
                Some(tx) => (tx, true),
                None => (self.handshake().await?, false),
            };
            if reused && tx.ready().await.is_err() {
                continue;
            }
            match tx.try_send_request(req).await {
                Ok(resp) => return Ok(GiveBack::wrap(resp, tx, self.clone())),
                Err(mut e) => match e.take_message() {
                    Some(unsent) if reused => req = unsent,
                    _ => return Err(SendError::Http(e.into_error())),
                },
            }
        }
    }

    async fn handshake(&self) -> Result<SendRequest<Body>, SendError> {
        let stream = self.connect().await?;
        let (tx, conn) = Builder::new()
            .handshake(TokioIo::new(stream))
            .await
            .map_err(SendError::Http)?;
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "upstream connection ended with an error");
            }
        });
        Ok(tx)
    }

    /// Gives a connection back after its answer was read (dropped when `max_idle` are
    /// already idle here, or when the client's idle budget is spent).
    pub(crate) fn put(&self, conn: Conn) {
        self.keep(conn);
    }

    /// Gives a hyper connection back once its answer was read; hyper takes the next
    /// request when the body it is still writing (if any) is done.
    pub(crate) fn put_streamed(&self, tx: SendRequest<Body>) {
        if !tx.is_closed() {
            self.keep(tx);
        }
    }

    fn keep<C: Pooled>(&self, conn: C) {
        let mut idle = self.idle.lock();
        if idle.len() < self.max_idle && self.budget.take() {
            C::list(&mut idle).push(Idle {
                conn,
                since: Instant::now(),
            });
        }
    }

    /// The most recently used idle connection that is usable and not expired.
    pub(crate) fn take_idle(&self) -> Option<Conn> {
        self.take()
    }

    /// The most recently used idle hyper connection that is open and not expired.
    fn take_streamed(&self) -> Option<SendRequest<Body>> {
        self.take()
    }

    fn take<C: Pooled>(&self) -> Option<C> {
        let mut idle = self.idle.lock();
        while let Some(mut i) = C::list(&mut idle).pop() {
            self.budget.release(1);
            if i.since.elapsed() < POOL_IDLE_TIMEOUT && i.conn.usable() {
                return Some(i.conn);
            }
        }
        None
    }

    async fn connect(&self) -> Result<TcpStream, SendError> {
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
        Ok(stream)
    }

    /// Closes idle connections past the idle timeout, or closed by the server.
    fn expire(&self) {
        let mut idle = self.idle.lock();
        let before = idle.len();
        expire_list(&mut idle.codec);
        expire_list(&mut idle.streamed);
        self.budget.release(before - idle.len());
    }

    /// The idle connections kept now.
    pub fn idle_count(&self) -> usize {
        self.idle.lock().len()
    }

    /// Whether each idle connection is still usable, oldest first.
    #[cfg(test)]
    pub(crate) fn idle_usable(&self) -> Vec<bool> {
        self.idle
            .lock()
            .codec
            .iter_mut()
            .map(|i| i.conn.is_usable())
            .collect()
    }
}

/// Drops the connections of `list` past the idle timeout or no longer usable.
fn expire_list<C: Pooled>(list: &mut Vec<Idle<C>>) {
    list.retain_mut(|i| i.since.elapsed() < POOL_IDLE_TIMEOUT && i.conn.usable());
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
    async fn exchange(pool: &Arc<HostPool>, authority: &Authority) {
        let req = Request::builder()
            .uri("/")
            .header("host", authority.as_str())
            .body(Body::default())
            .unwrap();
        let resp = pool.send(req, true).await.unwrap();
        let _ = resp.into_body().collect().await.unwrap();
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
        // Bodies too long to be read before the answer is handed on, so each keeps its
        // connection busy until it is read.
        let long = "a".repeat(200 * 1024);
        let a = Upstream::start(move |_| Reply::text(200, &long)).await;
        let aa: Authority = a.url()["http://".len()..].parse().unwrap();
        let budget = Arc::new(IdleBudget::new(usize::MAX));
        let pa = HostPool::new(&aa, 1, budget.clone());
        let mk = || {
            Request::builder()
                .uri("/")
                .header("host", aa.as_str())
                .body(Body::default())
                .unwrap()
        };
        // Two connections in use at once; only one is kept idle afterwards.
        let s1 = pa.send(mk(), true).await.unwrap();
        let s2 = pa.send(mk(), true).await.unwrap();
        let _ = s1.into_body().collect().await.unwrap();
        let _ = s2.into_body().collect().await.unwrap();
        assert_eq!((pa.idle_count(), budget.idle()), (1, 1));
    }
}
