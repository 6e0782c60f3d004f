//! A call's deadline over its whole answer: when it passes while messages are still
//! coming, the answer ends with `DeadlineExceeded` trailers and the upstream stream is
//! dropped (reset).

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use eg_protocols::grpc::{self, Code};
use eg_protocols::BodyError;
use http::HeaderMap;
use std::future::Future;

use http_body::{Frame, SizeHint};
use tokio::time::{Instant, Sleep};

/// The message of the status a passed deadline ends a call with.
pub const DEADLINE_MESSAGE: &str = "context deadline exceeded";

/// An upstream answer cut off at a deadline.
pub struct DeadlineBody {
    inner: Option<hyper::body::Incoming>,
    sleep: Pin<Box<Sleep>>,
}

impl DeadlineBody {
    /// `inner`, ended at `deadline`.
    pub fn new(inner: hyper::body::Incoming, deadline: Instant) -> DeadlineBody {
        DeadlineBody {
            inner: Some(inner),
            sleep: Box::pin(tokio::time::sleep_until(deadline)),
        }
    }
}

impl http_body::Body for DeadlineBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let Some(inner) = self.inner.as_mut() else {
            return Poll::Ready(None);
        };
        if let Poll::Ready(frame) = Pin::new(inner).poll_frame(cx) {
            if frame.is_none() {
                self.inner = None;
            }
            return Poll::Ready(frame.map(|f| f.map_err(|e| BodyError::Io(e.to_string()))));
        }
        if self.sleep.as_mut().poll(cx).is_ready() {
            self.inner = None;
            let mut trailers = HeaderMap::new();
            grpc::set_status(&mut trailers, Code::DeadlineExceeded, DEADLINE_MESSAGE);
            trailers.remove(http::header::CONTENT_TYPE);
            return Poll::Ready(Some(Ok(Frame::trailers(trailers))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.as_ref().is_none_or(|b| b.is_end_stream())
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}
