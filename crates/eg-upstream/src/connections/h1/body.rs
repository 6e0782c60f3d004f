//! A response body read from its connection as the consumer asks for it; the connection
//! goes back to its pool once the body ended cleanly.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use eg_protocols::BodyError;
use http_body::{Frame, SizeHint};

use super::chunked::{ChunkedDecoder, Decoded};
use super::decode::Framing;
use super::{Conn, H1Error, READ_CHUNK};
use crate::connections::host_pool::HostPool;

/// How the rest of the body is delimited.
#[derive(Debug)]
enum Left {
    /// This many bytes.
    Length(u64),
    Chunked(ChunkedDecoder),
    /// Until the server closes.
    Close,
}

/// The body of an answer still on its connection.
pub(crate) struct ResponseBody {
    /// `None` once the body ended or failed.
    conn: Option<Conn>,
    left: Left,
    keep_alive: bool,
    pool: Arc<HostPool>,
}

impl ResponseBody {
    pub(super) fn new(
        conn: Conn,
        framing: Framing,
        keep_alive: bool,
        pool: Arc<HostPool>,
    ) -> ResponseBody {
        let left = match framing {
            Framing::Length(n) => Left::Length(n),
            Framing::Chunked => Left::Chunked(ChunkedDecoder::new()),
            Framing::None | Framing::Close => Left::Close,
        };
        ResponseBody {
            conn: Some(conn),
            left,
            keep_alive,
            pool,
        }
    }

    /// The body ended: the connection goes back when it can carry another request.
    fn finish(&mut self) {
        if let Some(conn) = self.conn.take() {
            conn.done(self.keep_alive, &self.pool);
        }
    }

    /// The body broke off: the connection is closed.
    fn fail(&mut self, e: H1Error) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        self.conn = None;
        Poll::Ready(Some(Err(BodyError::Io(e.to_string()))))
    }
}

impl http_body::Body for ResponseBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = self.get_mut();
        loop {
            let Some(conn) = this.conn.as_mut() else {
                return Poll::Ready(None);
            };
            match &mut this.left {
                Left::Length(0) => {
                    this.finish();
                    return Poll::Ready(None);
                }
                Left::Length(left) => {
                    if !conn.rbuf.is_empty() {
                        let n = (*left).min(conn.rbuf.len() as u64);
                        let data = conn.rbuf.split_to(n as usize).freeze();
                        *left -= n;
                        if *left == 0 {
                            this.finish();
                        }
                        return Poll::Ready(Some(Ok(Frame::data(data))));
                    }
                    let want = (*left).min(READ_CHUNK as u64 * 8) as usize;
                    conn.rbuf.reserve(want);
                    if let Err(e) = ready!(conn.poll_fill_body(cx)) {
                        return this.fail(e);
                    }
                }
                Left::Chunked(decoder) => match decoder.decode(&mut conn.rbuf) {
                    Ok(Decoded::Data(data)) => return Poll::Ready(Some(Ok(Frame::data(data)))),
                    Ok(Decoded::End) => {
                        this.finish();
                        return Poll::Ready(None);
                    }
                    Ok(Decoded::More) => {
                        if let Err(e) = ready!(conn.poll_fill_body(cx)) {
                            return this.fail(e);
                        }
                    }
                    Err(e) => return this.fail(e),
                },
                Left::Close => {
                    if !conn.rbuf.is_empty() {
                        let data = conn.rbuf.split().freeze();
                        return Poll::Ready(Some(Ok(Frame::data(data))));
                    }
                    match ready!(conn.poll_fill(cx)) {
                        Ok(0) => {
                            this.conn = None;
                            return Poll::Ready(None);
                        }
                        Ok(_) => {}
                        Err(e) => return this.fail(H1Error::Io(e)),
                    }
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.conn.is_none() || matches!(self.left, Left::Length(0))
    }

    fn size_hint(&self) -> SizeHint {
        match self.left {
            Left::Length(n) => SizeHint::with_exact(n),
            _ if self.conn.is_none() => SizeHint::with_exact(0),
            _ => SizeHint::default(),
        }
    }
}
