//! Reads and writes on a TCP socket as direct system calls.
//!
//! glibc counts `recv` and `send` as cancellation points: around each call it marks the
//! thread as cancellable and back again, two locked read-modify-writes on the thread's
//! descriptor (plus `errno`), and a proxied request makes four such calls. The server never
//! cancels a thread, so that work buys nothing here. These functions make the same system
//! calls through `rustix`, which on Linux issues them itself; readiness is tokio's, as with
//! [`TcpStream::try_read_buf`] and [`TcpStream::try_write`]: a call that finds nothing to
//! read (or no room) clears the socket's cached readiness, so the next poll waits for an
//! event.

use std::io;

use bytes::BytesMut;
use rustix::net::{RecvFlags, SendFlags};
use tokio::io::Interest;
use tokio::net::TcpStream;

/// Room reserved when a buffer to read into has none (what `BufMut::chunk_mut` reserves).
const MIN_ROOM: usize = 64;

/// Reads what `stream` has into the free room of `buf` (0: the peer closed its side);
/// `WouldBlock` when it has nothing, after which the socket's readiness is cleared.
pub fn try_read_buf(stream: &TcpStream, buf: &mut BytesMut) -> io::Result<usize> {
    stream.try_io(Interest::READABLE, || recv_into(stream, buf))
}

/// One `recv` into the free room of `buf`, without touching the socket's readiness (for
/// a caller already inside [`TcpStream::try_io`]).
#[allow(unsafe_code)]
pub fn recv_into(stream: &TcpStream, buf: &mut BytesMut) -> io::Result<usize> {
    if buf.capacity() == buf.len() {
        buf.reserve(MIN_ROOM);
    }
    let ((filled, _), _) = rustix::net::recv(stream, buf.spare_capacity_mut(), RecvFlags::empty())?;
    let n = filled.len();
    // SAFETY: `filled` is the front of `buf`'s spare capacity that `recv` wrote (rustix
    // hands back exactly the initialized part, never longer than the room given, even if
    // the kernel reported more), so the first `len + n` bytes of `buf` are initialized and
    // within its capacity.
    unsafe { buf.set_len(buf.len() + n) };
    Ok(n)
}

/// The socket as an [`io::Read`] for a library that reads through one (rustls's
/// `read_tls`): each `read` is one `recv`, without touching the socket's readiness (for a
/// caller already inside [`TcpStream::try_io`]). It notes whether a read came back short,
/// which on a stream socket means it took all there was.
pub struct SyncRecv<'a> {
    stream: &'a TcpStream,
    drained: bool,
}

impl<'a> SyncRecv<'a> {
    /// A reader of `stream`.
    pub fn new(stream: &'a TcpStream) -> Self {
        SyncRecv {
            stream,
            drained: false,
        }
    }

    /// Whether the last read returned some bytes but fewer than asked: the socket held no
    /// more.
    pub fn drained(&self) -> bool {
        self.drained
    }
}

impl io::Read for SyncRecv<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let (n, _) = rustix::net::recv(self.stream, &mut *buf, RecvFlags::empty())?;
        self.drained = 0 < n && n < buf.len();
        Ok(n)
    }
}

/// The socket as an [`io::Write`] for a library that writes through one (rustls's
/// `write_tls`): each `write` is one `send`, without touching the socket's readiness (for a
/// caller already inside [`TcpStream::try_io`]); a closed peer is an error, never a
/// `SIGPIPE`.
pub struct SyncSend<'a>(pub &'a TcpStream);

impl io::Write for SyncSend<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(rustix::net::send(self.0, buf, SendFlags::NOSIGNAL)?)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Writes as much of `data` as the socket takes now; `WouldBlock` when it has no room,
/// after which the socket's readiness is cleared. A closed peer is an error, never a
/// `SIGPIPE`.
pub fn try_write(stream: &TcpStream, data: &[u8]) -> io::Result<usize> {
    stream.try_io(Interest::WRITABLE, || {
        Ok(rustix::net::send(stream, data, SendFlags::NOSIGNAL)?)
    })
}

/// A connected pair of loopback sockets (for tests).
#[cfg(test)]
pub(crate) async fn connected_pair() -> (TcpStream, TcpStream) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (client, accepted) = tokio::join!(TcpStream::connect(addr), listener.accept());
    (client.unwrap(), accepted.unwrap().0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// The first read that finds something (or the close): waits for readiness again
    /// when a read would block.
    async fn read_once(b: &TcpStream, buf: &mut BytesMut) -> usize {
        loop {
            b.readable().await.unwrap();
            match try_read_buf(b, buf) {
                Ok(n) => return n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => panic!("{e}"),
            }
        }
    }

    #[tokio::test]
    async fn a_read_appends_what_arrived_after_what_the_buffer_holds() {
        let (mut a, b) = connected_pair().await;
        a.write_all(b"world").await.unwrap();
        let mut buf = BytesMut::with_capacity(16);
        buf.extend_from_slice(b"hello ");
        let mut got = 0;
        while got < 5 {
            got += read_once(&b, &mut buf).await;
        }
        assert_eq!(&buf[..], b"hello world");
    }

    #[tokio::test]
    async fn a_full_buffer_gets_room_instead_of_reading_nothing() {
        let (mut a, b) = connected_pair().await;
        a.write_all(b"more").await.unwrap();
        let mut buf = BytesMut::with_capacity(4);
        buf.extend_from_slice(b"full");
        assert_eq!(buf.capacity(), buf.len());
        assert_eq!(read_once(&b, &mut buf).await, 4);
        assert_eq!(&buf[..], b"fullmore");
    }

    #[tokio::test]
    async fn nothing_to_read_would_block_and_a_close_reads_zero() {
        let (a, b) = connected_pair().await;
        let mut buf = BytesMut::with_capacity(16);
        let e = try_read_buf(&b, &mut buf).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
        drop(a);
        assert_eq!(read_once(&b, &mut buf).await, 0);
        assert!(buf.is_empty());
    }

    #[tokio::test]
    async fn a_sync_recv_says_when_it_drained_the_socket() {
        use std::io::Read as _;
        let (mut a, b) = connected_pair().await;
        a.write_all(b"0123456789").await.unwrap();
        b.readable().await.unwrap();
        let mut r = SyncRecv::new(&b);
        let mut small = [0u8; 4];
        assert_eq!(r.read(&mut small).unwrap(), 4);
        assert!(
            !r.drained(),
            "a read that filled its room may have left more"
        );
        let mut got = BytesMut::from(&small[..]);
        // The rest of the bytes may arrive in pieces on a busy machine.
        while got.len() < 10 {
            let mut big = [0u8; 64];
            match b.try_io(Interest::READABLE, || r.read(&mut big)) {
                Ok(n) => {
                    assert!(
                        r.drained(),
                        "{n} bytes in a room of 64: the socket is empty"
                    );
                    got.extend_from_slice(&big[..n]);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => b.readable().await.unwrap(),
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(&got[..], b"0123456789");
        let mut big = [0u8; 64];
        let e = b
            .try_io(Interest::READABLE, || r.read(&mut big))
            .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
        drop(a);
        b.readable().await.unwrap();
        assert_eq!(r.read(&mut big).unwrap(), 0);
        assert!(!r.drained(), "the end of the stream is not a short read");
    }

    #[tokio::test]
    async fn a_write_sends_the_bytes_and_a_full_socket_would_block() {
        let (a, mut b) = connected_pair().await;
        a.writable().await.unwrap();
        assert_eq!(try_write(&a, b"ping").unwrap(), 4);
        let mut got = [0u8; 4];
        b.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"ping");
        // Nobody reads: the socket's buffers fill and a write finds no room.
        let chunk = vec![7u8; 64 * 1024];
        let blocked = loop {
            match try_write(&a, &chunk) {
                Ok(_) => continue,
                Err(e) => break e,
            }
        };
        assert_eq!(blocked.kind(), io::ErrorKind::WouldBlock);
    }

    #[tokio::test]
    async fn writing_to_a_closed_peer_is_an_error() {
        let (a, b) = connected_pair().await;
        drop(b);
        let mut failed = None;
        for _ in 0..64 {
            a.writable().await.unwrap();
            match try_write(&a, &[0u8; 64 * 1024]) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        let e = failed.expect("the reset peer fails a write");
        assert!(
            matches!(
                e.kind(),
                io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
            ),
            "{e:?}"
        );
    }
}
