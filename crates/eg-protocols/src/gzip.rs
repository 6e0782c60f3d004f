//! Gzip of bodies: buffered bodies at once, streamed bodies chunk by chunk.

use std::io::Write as _;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use bytes::Bytes;
use flate2::write::{GzDecoder, GzEncoder};
use flate2::Compression;
use http_body::{Frame, SizeHint};

use crate::body::{Body, BodyError, BoxStream};

/// The `gzip` content coding.
pub const GZIP: &str = "gzip";

/// Gzips `data` (default level).
pub fn gzip(data: &[u8]) -> std::io::Result<Bytes> {
    let mut enc = GzEncoder::new(
        Vec::with_capacity(data.len() / 2 + 32),
        Compression::default(),
    );
    enc.write_all(data)?;
    Ok(Bytes::from(enc.finish()?))
}

/// Un-gzips `data`; fails on anything that is not a complete gzip stream.
pub fn gunzip(data: &[u8]) -> std::io::Result<Bytes> {
    let mut dec = GzDecoder::new(Vec::with_capacity(data.len() * 2));
    dec.write_all(data)?;
    Ok(Bytes::from(dec.finish()?))
}

/// Wraps a streamed body so that it is gzipped as it flows; the encoder sends what it has
/// when it has enough.
pub fn gzip_stream(inner: Body) -> Body {
    stream(inner, Coder::Encode(encoder()), false)
}

/// Wraps a streamed body so that it is gzipped as it flows, with a sync flush after each
/// chunk: every chunk is sent as soon as it comes (streamed events still arrive as they are
/// sent).
pub fn gzip_stream_flushed(inner: Body) -> Body {
    stream(inner, Coder::Encode(encoder()), true)
}

/// Wraps a streamed gzip body so that it is decompressed as it flows (a corrupt stream
/// breaks the body off with an error).
pub fn gunzip_stream(inner: Body) -> Body {
    stream(inner, Coder::Decode(GzDecoder::new(Vec::new())), false)
}

fn encoder() -> GzEncoder<Vec<u8>> {
    GzEncoder::new(Vec::new(), Compression::default())
}

fn stream(inner: Body, coder: Coder, flush: bool) -> Body {
    Body::Stream(BoxStream::new(GzipStream {
        inner,
        coder,
        flush,
        done: false,
    }))
}

/// Which way a streamed body is transformed.
enum Coder {
    Encode(GzEncoder<Vec<u8>>),
    Decode(GzDecoder<Vec<u8>>),
}

impl Coder {
    fn write(&mut self, data: &[u8], flush: bool) -> std::io::Result<Vec<u8>> {
        match self {
            Coder::Encode(e) => {
                e.write_all(data)?;
                if flush {
                    e.flush()?;
                }
                Ok(std::mem::take(e.get_mut()))
            }
            Coder::Decode(d) => {
                d.write_all(data)?;
                Ok(std::mem::take(d.get_mut()))
            }
        }
    }

    fn finish(&mut self) -> std::io::Result<Vec<u8>> {
        match self {
            Coder::Encode(e) => {
                e.try_finish()?;
                Ok(std::mem::take(e.get_mut()))
            }
            Coder::Decode(d) => {
                d.try_finish()?;
                Ok(std::mem::take(d.get_mut()))
            }
        }
    }
}

/// A streamed body passed through gzip (either way).
struct GzipStream {
    inner: Body,
    coder: Coder,
    flush: bool,
    done: bool,
}

impl http_body::Body for GzipStream {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = self.get_mut();
        let io = |e: std::io::Error| BodyError::Io(format!("gzip: {e}"));
        loop {
            if this.done {
                return Poll::Ready(None);
            }
            match Pin::new(&mut this.inner).poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                Poll::Ready(Some(Ok(frame))) => {
                    let Ok(data) = frame.into_data() else {
                        continue; // trailers are dropped
                    };
                    match this.coder.write(&data, this.flush) {
                        Ok(out) if out.is_empty() => continue,
                        Ok(out) => return Poll::Ready(Some(Ok(Frame::data(Bytes::from(out))))),
                        Err(e) => return Poll::Ready(Some(Err(io(e)))),
                    }
                }
                Poll::Ready(None) => {
                    this.done = true;
                    return match this.coder.finish() {
                        Ok(out) if out.is_empty() => Poll::Ready(None),
                        Ok(out) => Poll::Ready(Some(Ok(Frame::data(Bytes::from(out))))),
                        Err(e) => Poll::Ready(Some(Err(io(e)))),
                    };
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[test]
    fn round_trip() {
        let z = gzip(b"hello hello hello").unwrap();
        assert_eq!(&z[..2], &[0x1f, 0x8b]);
        assert_eq!(gunzip(&z).unwrap(), "hello hello hello");
        assert!(gunzip(b"not gzip").is_err());
        assert!(gunzip(&z[..z.len() - 4]).is_err());
    }

    fn streamed(b: Bytes) -> Body {
        Body::Stream(BoxStream::new(
            http_body_util::Full::new(b).map_err(|never| match never {}),
        ))
    }

    #[tokio::test]
    async fn streams_round_trip() {
        let text = Bytes::from_static(b"streamed text, streamed text");
        for mut z in [
            gzip_stream(streamed(text.clone())),
            gzip_stream_flushed(streamed(text.clone())),
        ] {
            let zipped = z.buffer(None).await.unwrap();
            assert_eq!(gunzip(&zipped).unwrap(), text);
            let mut plain = gunzip_stream(streamed(zipped));
            assert_eq!(plain.buffer(None).await.unwrap(), text);
        }
    }
}
