//! A response body streamed from an open file, a bounded chunk at a time, with its exact
//! length announced (so the writer sends a `Content-Length`).

use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use bytes::{Bytes, BytesMut};
use eg_protocols::{Body, BodyError, BoxStream};
use http_body::{Frame, SizeHint};
use tokio::io::{AsyncRead, ReadBuf};

/// Bytes read from the file per frame.
pub const CHUNK_SIZE: usize = 64 * 1024;

/// `len` bytes of `file` from its current position.
pub struct FileBody {
    file: tokio::fs::File,
    remaining: u64,
    buf: BytesMut,
}

impl FileBody {
    /// A body of the next `len` bytes of `file`.
    pub fn new(file: std::fs::File, len: u64) -> FileBody {
        FileBody {
            file: tokio::fs::File::from_std(file),
            remaining: len,
            buf: BytesMut::new(),
        }
    }

    /// As a streamed [`Body`].
    pub fn into_body(self) -> Body {
        Body::Stream(BoxStream::new(self))
    }
}

impl http_body::Body for FileBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = self.get_mut();
        if this.remaining == 0 {
            return Poll::Ready(None);
        }
        let want = usize::try_from(this.remaining).map_or(CHUNK_SIZE, |r| r.min(CHUNK_SIZE));
        if this.buf.len() != want {
            this.buf.resize(want, 0);
        }
        let mut read = ReadBuf::new(&mut this.buf[..]);
        match Pin::new(&mut this.file).poll_read(cx, &mut read) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(e)) => Poll::Ready(Some(Err(BodyError::Io(e.to_string())))),
            Poll::Ready(Ok(())) => {
                let n = read.filled().len();
                if n == 0 {
                    // The file shrank after its length was announced.
                    this.remaining = 0;
                    return Poll::Ready(Some(Err(BodyError::Io(
                        "file shorter than its announced length".into(),
                    ))));
                }
                this.remaining -= n as u64;
                let chunk = this.buf.split_to(n).freeze();
                Poll::Ready(Some(Ok(Frame::data(chunk))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}
