//! The answer to a request whose body streamed through hyper's client connection: its
//! body gives the connection back to its host pool when read to its end.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use eg_protocols::{Body, BodyError};
use http::Response;
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;

use super::host_pool::HostPool;

/// A hyper response body holding its connection until the body ends.
pub(crate) struct GiveBack {
    inner: Incoming,
    tx: Option<SendRequest<Body>>,
    pool: Arc<HostPool>,
}

impl GiveBack {
    /// `resp` with a body that gives `tx` back to `pool` at its end (at once when the
    /// answer has no body).
    pub(crate) fn wrap(
        resp: Response<Incoming>,
        tx: SendRequest<Body>,
        pool: Arc<HostPool>,
    ) -> Response<Body> {
        if http_body::Body::is_end_stream(resp.body()) {
            pool.put_streamed(tx);
            return resp.map(|_| Body::Empty);
        }
        resp.map(|inner| {
            Body::Stream(http_body_util::combinators::UnsyncBoxBody::new(GiveBack {
                inner,
                tx: Some(tx),
                pool,
            }))
        })
    }
}

impl http_body::Body for GiveBack {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let polled = ready!(Pin::new(&mut self.inner).poll_frame(cx));
        match polled {
            None => {
                if let Some(tx) = self.tx.take() {
                    self.pool.put_streamed(tx);
                }
                Poll::Ready(None)
            }
            Some(Err(e)) => {
                self.tx = None;
                Poll::Ready(Some(Err(BodyError::Io(e.to_string()))))
            }
            Some(Ok(frame)) => Poll::Ready(Some(Ok(frame))),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
