//! What the codec needs of a connection's byte stream: a read that never waits, a wait for
//! the next bytes, whole writes, and the marks its requests carry.
//!
//! Two streams implement it: a plain TCP socket, and a TLS stream over one
//! ([`TlsTransport`]); both are read with direct system calls. Their difference is where
//! bytes wait to be read. A socket holds them in the kernel, so "readable" is its readiness.
//! A TLS stream also holds decrypted bytes of records it has already taken off the socket;
//! the codec never waits while it might hold some, because it waits only after a read that
//! left room free (see [`Transport::read_available`]), and such a read leaves none behind.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::BytesMut;
use eg_protocols::PeerCertificates;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;

/// A connection's byte stream as the codec drives it.
pub(crate) trait Transport: AsyncRead + AsyncWrite + Unpin + Send + 'static {
    /// Reads what is there into `buf`'s free room (at least one byte of it) without
    /// waiting: `Ok(0)` is the end of the stream, `WouldBlock` means nothing to read now.
    /// A read that leaves part of the room free has taken everything there was: a wait
    /// for more ([`poll_read_ready`](Self::poll_read_ready)) may follow it.
    fn read_available(&mut self, buf: &mut BytesMut) -> io::Result<usize>;

    /// Ready once a read may find bytes or the end of the stream; registers `cx` for that
    /// moment otherwise.
    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;

    /// Writes all of `buf`, and sends on whatever the stream keeps back (a TLS record).
    fn write_all<'a>(
        &'a mut self,
        buf: &'a [u8],
    ) -> impl Future<Output = io::Result<()>> + Send + 'a;

    /// Marks a request read from this stream as [`hyper`]'s service does on the same
    /// connection (TLS: [`eg_protocols::mark_tls`]).
    fn annotate(&self, _req: &mut http::Request<eg_protocols::Body>) {}
}

impl Transport for TcpStream {
    /// A read that leaves part of the room free has drained the socket: a stream socket
    /// returns less than asked only when it holds no more. The socket's readiness is then
    /// cleared too, as tokio's own `poll_read` does on epoll, so the next wait for it (the
    /// watch for a client hanging up while its request is served, the wait for the next
    /// request) goes to the reactor at once instead of paying a `recvfrom` that only says
    /// `EAGAIN`. Clearing cannot lose a wake-up: tokio clears only the readiness it saw
    /// before the read, so bytes that arrive meanwhile leave the socket ready.
    fn read_available(&mut self, buf: &mut BytesMut) -> io::Result<usize> {
        let stream: &TcpStream = self;
        let room = buf.capacity() - buf.len();
        let mut read = None;
        let tried = stream.try_io(tokio::io::Interest::READABLE, || {
            let n = eg_protocols::socket::recv_into(stream, buf)?;
            read = Some(n);
            if 0 < n && n < room {
                // Tells `try_io` the socket is drained; the bytes are in `buf` all the same.
                Err(io::ErrorKind::WouldBlock.into())
            } else {
                Ok(n)
            }
        });
        match read {
            Some(n) => Ok(n),
            // Not ready, or the read failed.
            None => tried,
        }
    }

    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        TcpStream::poll_read_ready(self, cx)
    }

    fn write_all<'a>(
        &'a mut self,
        buf: &'a [u8],
    ) -> impl Future<Output = io::Result<()>> + Send + 'a {
        eg_protocols::write::write_all(self, buf)
    }
}

/// A TLS connection the codec serves: the stream, and the client's certificate chain
/// (mutual TLS only) that every request on it carries.
pub(crate) struct TlsTransport {
    stream: TlsStream<TcpStream>,
    certs: Option<PeerCertificates>,
}

impl TlsTransport {
    /// A stream whose handshake is done; `certs`: the chain the client presented.
    pub(crate) fn new(stream: TlsStream<TcpStream>, certs: Option<PeerCertificates>) -> Self {
        TlsTransport { stream, certs }
    }
}

impl Transport for TlsTransport {
    /// Reads with rustls directly, as the plain path reads with `recv`: first the bytes
    /// rustls has already decrypted, then records off the socket (`read_tls`, one `recv`),
    /// decrypting each batch, until the room is full or a `recv` comes back short. A short
    /// `recv` took all the socket had: the read stops there and clears the socket's
    /// readiness, so the next wait goes to the reactor at once. (tokio-rustls's read polls
    /// the socket again to fill the room: with the readiness cleared that makes no call,
    /// but it leaves a waker with the reactor on every request, for the codec's wait to
    /// replace.) A read that leaves room free has therefore left nothing decrypted behind:
    /// rustls keeps at most the start of a record it cannot decrypt yet.
    ///
    /// A record that fails to decrypt or parse ends the connection with `InvalidData`, after
    /// one try to send the alert rustls queued about it (as tokio-rustls does); a TCP close
    /// without `close_notify` is `UnexpectedEof`, a `close_notify` reads as the end.
    fn read_available(&mut self, buf: &mut BytesMut) -> io::Result<usize> {
        if buf.capacity() == buf.len() {
            buf.reserve(1);
        }
        let room = buf.capacity() - buf.len();
        let (tcp, tls) = self.stream.get_mut();
        let mut read = 0;
        let mut drained = false;
        loop {
            // What rustls holds decrypted.
            while read < room {
                match tls.reader().into_first_chunk() {
                    Ok([]) => return Ok(read),
                    Ok(chunk) => {
                        let n = chunk.len().min(room - read);
                        buf.extend_from_slice(&chunk[..n]);
                        io::BufRead::consume(&mut tls.reader(), n);
                        read += n;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    // The end, clean or not, comes again with the next read.
                    Err(_) if read > 0 => return Ok(read),
                    Err(e) => return Err(e),
                }
            }
            if read == room || drained {
                return if read > 0 {
                    Ok(read)
                } else {
                    Err(io::ErrorKind::WouldBlock.into())
                };
            }
            // More records off the socket.
            let got = tcp.try_io(tokio::io::Interest::READABLE, || {
                let mut socket = eg_protocols::socket::SyncRecv::new(tcp);
                let n = tls.read_tls(&mut socket)?;
                drained = socket.drained();
                if drained {
                    // The socket is empty: `try_io` clears its readiness on this error;
                    // the bytes are in rustls all the same.
                    Err(io::ErrorKind::WouldBlock.into())
                } else {
                    Ok(n)
                }
            });
            match got {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock && drained => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock && read > 0 => return Ok(read),
                Err(e) => return Err(e),
            }
            if let Err(e) = tls.process_new_packets() {
                // rustls queued an alert saying why: one try to send it.
                let _ = tcp.try_io(tokio::io::Interest::WRITABLE, || {
                    tls.write_tls(&mut eg_protocols::socket::SyncSend(tcp))
                });
                return Err(io::Error::new(io::ErrorKind::InvalidData, e));
            }
        }
    }

    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.stream.get_ref().0.poll_read_ready(cx)
    }

    async fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        AsyncWriteExt::write_all(&mut self.stream, buf).await?;
        // rustls keeps back what the socket did not take; a flush sends it.
        self.stream.flush().await
    }

    fn annotate(&self, req: &mut http::Request<eg_protocols::Body>) {
        eg_protocols::mark_tls(req.extensions_mut(), self.certs.as_ref());
    }
}

impl AsyncRead for TlsTransport {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for TlsTransport {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
