//! Reading a streamed body into memory when a template or an adaptor needs it, without
//! losing it when it turns out to be too large.

use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use bytes::{Bytes, BytesMut};
use eg_protocols::{Body, BodyError, BoxStream};
use http_body::{Frame, SizeHint};
use http_body_util::BodyExt;

/// The largest body read into memory for a template or a (de)compression: 4 MiB, as
/// Easegress's default payload limit. A larger streamed body stays a stream.
pub const BODY_BUFFER_LIMIT: u64 = 4 * 1024 * 1024;

/// Reads `body` into memory if it is a stream of at most `limit` bytes. Returns whether the
/// body is now buffered; a larger body is left a stream carrying every byte (the part
/// already read is put back in front). Fails only when the peer breaks the body off.
pub(crate) async fn buffer_within(body: &mut Body, limit: u64) -> Result<bool, BodyError> {
    if body.is_buffered() {
        return Ok(true);
    }
    if http_body::Body::size_hint(body).lower() > limit {
        return Ok(false);
    }
    let mut taken = std::mem::take(body);
    let mut buf = BytesMut::new();
    while let Some(frame) = taken.frame().await {
        let frame = frame?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        buf.extend_from_slice(&data);
        if buf.len() as u64 > limit {
            *body = Body::Stream(BoxStream::new(Prefixed {
                prefix: Some(buf.freeze()),
                rest: taken,
            }));
            return Ok(false);
        }
    }
    *body = Body::full(buf.freeze());
    Ok(true)
}

/// A stream whose first bytes were already read.
struct Prefixed {
    prefix: Option<Bytes>,
    rest: Body,
}

impl http_body::Body for Prefixed {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = self.get_mut();
        if let Some(p) = this.prefix.take() {
            return Poll::Ready(Some(Ok(Frame::data(p))));
        }
        Pin::new(&mut this.rest).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.prefix.is_none() && self.rest.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        let extra = self.prefix.as_ref().map_or(0, |p| p.len() as u64);
        let inner = self.rest.size_hint();
        let mut h = SizeHint::new();
        h.set_lower(inner.lower() + extra);
        if let Some(u) = inner.upper() {
            h.set_upper(u + extra);
        }
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stream of fixed chunks.
    struct Chunks(std::collections::VecDeque<&'static str>);

    impl http_body::Body for Chunks {
        type Data = Bytes;
        type Error = BodyError;
        fn poll_frame(
            self: Pin<&mut Self>,
            _: &mut TaskContext<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
            Poll::Ready(
                self.get_mut()
                    .0
                    .pop_front()
                    .map(|c| Ok(Frame::data(Bytes::from_static(c.as_bytes())))),
            )
        }
    }

    fn stream(chunks: &[&'static str]) -> Body {
        Body::Stream(BoxStream::new(Chunks(chunks.iter().copied().collect())))
    }

    #[tokio::test]
    async fn small_streams_are_buffered() {
        let mut b = stream(&["ab", "cd"]);
        assert!(buffer_within(&mut b, 10).await.unwrap());
        assert_eq!(b.bytes().unwrap(), "abcd");
    }

    #[tokio::test]
    async fn large_streams_stay_whole_streams() {
        let mut b = stream(&["abc", "def", "gh"]);
        assert!(!buffer_within(&mut b, 4).await.unwrap());
        assert!(!b.is_buffered());
        assert_eq!(b.buffer(None).await.unwrap(), "abcdefgh");
    }
}
