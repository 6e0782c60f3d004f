//! Message bodies: empty, buffered, or a stream that is read only when needed.

use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use bytes::Bytes;
use http_body::{Frame, SizeHint};
use http_body_util::BodyExt;

/// Errors while reading a body.
#[derive(Debug)]
pub enum BodyError {
    /// The body is larger than the allowed limit.
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// The peer broke the body off or sent bad framing.
    Io(String),
}

impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BodyError::TooLarge { limit } => write!(f, "body larger than {limit} bytes"),
            BodyError::Io(e) => write!(f, "body read failed: {e}"),
        }
    }
}

impl std::error::Error for BodyError {}

/// A boxed stream of body frames for bodies that are neither hyper's nor buffered (e.g. a
/// gzip encoder wrapped around an upstream response).
pub type BoxStream = http_body_util::combinators::UnsyncBoxBody<Bytes, BodyError>;

/// A request or response body.
///
/// `Incoming` and `Stream` are read lazily and only once; [`Body::buffer`] turns them into
/// `Full` (bounded by a limit) for filters that need the bytes.
#[derive(Default)]
pub enum Body {
    /// No body.
    #[default]
    Empty,
    /// A body held in memory.
    Full(Bytes),
    /// A body still arriving from a peer.
    Incoming(hyper::body::Incoming),
    /// Any other stream.
    Stream(BoxStream),
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Body::Empty => f.write_str("Body::Empty"),
            Body::Full(b) => write!(f, "Body::Full({} bytes)", b.len()),
            Body::Incoming(_) => f.write_str("Body::Incoming"),
            Body::Stream(_) => f.write_str("Body::Stream"),
        }
    }
}

impl Body {
    /// A buffered body.
    pub fn full(bytes: impl Into<Bytes>) -> Body {
        let b = bytes.into();
        if b.is_empty() {
            Body::Empty
        } else {
            Body::Full(b)
        }
    }

    /// Whether the bytes are in memory (or there are none).
    pub fn is_buffered(&self) -> bool {
        matches!(self, Body::Empty | Body::Full(_))
    }

    /// The bytes when buffered.
    pub fn bytes(&self) -> Option<&Bytes> {
        match self {
            Body::Full(b) => Some(b),
            _ => None,
        }
    }

    /// Reads the whole body into memory, failing with [`BodyError::TooLarge`] past `limit`
    /// bytes (`None` = no limit). Already-buffered bodies return at once.
    pub async fn buffer(&mut self, limit: Option<u64>) -> Result<Bytes, BodyError> {
        let taken = std::mem::take(self);
        let bytes = match taken {
            Body::Empty => Bytes::new(),
            Body::Full(b) => b,
            Body::Incoming(inc) => collect_limited(inc, limit).await?,
            Body::Stream(s) => collect_limited(s, limit).await?,
        };
        if let Some(limit) = limit {
            if bytes.len() as u64 > limit {
                *self = Body::Full(bytes);
                return Err(BodyError::TooLarge { limit });
            }
        }
        *self = Body::full(bytes.clone());
        Ok(bytes)
    }

    /// The exact length when known without reading.
    pub fn known_len(&self) -> Option<u64> {
        http_body::Body::size_hint(self).exact()
    }
}

/// Most bytes reserved up front for a body from its announced size: a peer cannot make
/// us allocate more than this before sending the bytes.
const MAX_RESERVE: u64 = 1 << 20;

async fn collect_limited<B>(mut body: B, limit: Option<u64>) -> Result<Bytes, BodyError>
where
    B: http_body::Body<Data = Bytes> + Unpin,
    B::Error: std::fmt::Display,
{
    if let (Some(limit), Some(upper)) = (limit, body.size_hint().upper()) {
        if upper > limit && body.size_hint().exact() == Some(upper) {
            return Err(BodyError::TooLarge { limit });
        }
    }
    let mut buf = bytes::BytesMut::new();
    let mut first: Option<Bytes> = None;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| BodyError::Io(e.to_string()))?;
        if let Ok(data) = frame.into_data() {
            let total = buf.len() + first.as_ref().map_or(0, |f| f.len()) + data.len();
            if let Some(limit) = limit {
                if total as u64 > limit {
                    return Err(BodyError::TooLarge { limit });
                }
            }
            // Keep a single chunk zero-copy; only concatenate when there are several.
            match first.take() {
                None if buf.is_empty() => first = Some(data),
                Some(f) => {
                    // One allocation of the announced size (capped by the limit), not a
                    // series of doublings.
                    let announced = body.size_hint().lower() + total as u64;
                    let want = limit
                        .map_or(announced, |l| announced.min(l))
                        .min(MAX_RESERVE);
                    buf.reserve(usize::try_from(want).unwrap_or(total));
                    buf.extend_from_slice(&f);
                    buf.extend_from_slice(&data);
                }
                None => buf.extend_from_slice(&data),
            }
        }
    }
    Ok(match first {
        Some(f) => f,
        None => buf.freeze(),
    })
}

impl http_body::Body for Body {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        match self.get_mut() {
            Body::Empty => Poll::Ready(None),
            b @ Body::Full(_) => {
                let Body::Full(bytes) = std::mem::take(b) else {
                    return Poll::Ready(None);
                };
                Poll::Ready(Some(Ok(Frame::data(bytes))))
            }
            Body::Incoming(inc) => Pin::new(inc)
                .poll_frame(cx)
                .map_err(|e| BodyError::Io(e.to_string())),
            Body::Stream(s) => Pin::new(s).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Body::Empty => true,
            Body::Full(b) => b.is_empty(),
            Body::Incoming(inc) => inc.is_end_stream(),
            Body::Stream(s) => s.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Body::Empty => SizeHint::with_exact(0),
            Body::Full(b) => SizeHint::with_exact(b.len() as u64),
            Body::Incoming(inc) => inc.size_hint(),
            Body::Stream(s) => s.size_hint(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn buffer_respects_the_limit() {
        let mut b = Body::full("hello");
        assert_eq!(b.buffer(Some(5)).await.unwrap(), "hello");
        let mut b = Body::full("hello!");
        assert!(matches!(
            b.buffer(Some(5)).await,
            Err(BodyError::TooLarge { limit: 5 })
        ));
        let mut e = Body::Empty;
        assert!(e.buffer(Some(0)).await.unwrap().is_empty());
    }
}
