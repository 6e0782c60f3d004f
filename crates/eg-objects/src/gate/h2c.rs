//! HTTP/2 with prior knowledge (h2c): the connection timers of a gRPC server.
//!
//! hyper sends the keep-alive pings (`keepaliveTime`, `keepaliveTimeout`); what hyper does
//! not know — closing a connection that carried no stream for `maxConnectionIdle`, or that
//! is older than `maxConnectionAge` — is done here by counting the open streams of each
//! connection.

use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Frame, SizeHint};
use tokio::sync::watch;

/// The connection timers of an h2c listener; a change restarts the listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct H2cConfig {
    /// Interval of the server's keep-alive pings (`None` = no pings).
    pub keepalive_time: Option<Duration>,
    /// How long a ping may go unanswered before the connection is closed.
    pub keepalive_timeout: Duration,
    /// A connection without streams for this long is sent GOAWAY (`None` = never).
    pub max_idle: Option<Duration>,
    /// A connection this old is sent GOAWAY (`None` = never).
    pub max_age: Option<Duration>,
    /// After GOAWAY, how long open streams may still run before the connection is closed
    /// (`None` = until they end).
    pub max_age_grace: Option<Duration>,
}

/// The number of open streams of one connection.
#[derive(Debug, Clone)]
pub(crate) struct Activity(watch::Sender<usize>);

impl Activity {
    /// No stream open yet.
    pub fn new() -> Activity {
        Activity(watch::channel(0).0)
    }

    /// Counts a stream as open until the returned guard is dropped.
    pub fn open(&self) -> StreamGuard {
        self.0.send_modify(|n| *n += 1);
        StreamGuard(self.0.clone())
    }

    /// Resolves once no stream has been open for `idle`.
    async fn idle_for(&self, idle: Duration) {
        let mut rx = self.0.subscribe();
        loop {
            if rx.wait_for(|n| *n == 0).await.is_err() {
                return;
            }
            let busy = tokio::select! {
                _ = tokio::time::sleep(idle) => false,
                r = rx.wait_for(|n| *n > 0) => r.is_ok(),
            };
            if !busy && *rx.borrow() == 0 {
                return;
            }
        }
    }
}

/// One open stream; dropping it closes the stream in the count.
#[derive(Debug)]
pub(crate) struct StreamGuard(watch::Sender<usize>);

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n = n.saturating_sub(1));
    }
}

/// Resolves when the connection should be sent GOAWAY: idle for `max_idle`, or
/// `max_age` old; never when neither is set.
pub(crate) async fn ending(cfg: &H2cConfig, activity: &Activity) {
    let age = async {
        match cfg.max_age {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    let idle = async {
        match cfg.max_idle {
            Some(d) => activity.idle_for(d).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = age => {}
        _ = idle => {}
    }
}

/// A response body that keeps its stream counted as open until it ends or is dropped.
pub(crate) struct Tracked<B> {
    inner: B,
    open: Option<StreamGuard>,
}

impl<B> Tracked<B> {
    /// `inner`, counted by `open`.
    pub fn new(inner: B, open: StreamGuard) -> Tracked<B> {
        Tracked {
            inner,
            open: Some(open),
        }
    }
}

impl<B> http_body::Body for Tracked<B>
where
    B: http_body::Body<Data = Bytes> + Unpin,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None) | Poll::Ready(Some(Err(_)))) {
            this.open = None;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn idle_waits_for_streams_to_close() {
        let a = Activity::new();
        let guard = a.open();
        let cfg = H2cConfig {
            keepalive_time: None,
            keepalive_timeout: Duration::from_secs(20),
            max_idle: Some(Duration::from_millis(20)),
            max_age: None,
            max_age_grace: None,
        };
        let closed = std::sync::atomic::AtomicBool::new(false);
        let closer = async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            closed.store(true, std::sync::atomic::Ordering::SeqCst);
            drop(guard);
        };
        let ended = async {
            ending(&cfg, &a).await;
            closed.load(std::sync::atomic::Ordering::SeqCst)
        };
        let (after_close, ()) = tokio::join!(ended, closer);
        assert!(after_close, "a connection with an open stream is not idle");
    }
}
