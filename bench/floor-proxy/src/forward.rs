//! The one request loop of both floors, over a connection type each runtime provides.

use crate::head::{self, Next};
use std::io;
use std::net::SocketAddr;

/// A TCP connection of one runtime, as the request loop uses it.
pub(crate) trait Conn: Sized {
    /// Connects to `addr` with `TCP_NODELAY` set.
    async fn connect(addr: SocketAddr) -> io::Result<Self>;
    /// Appends what the socket has to `buf`'s spare room; returns the bytes read.
    async fn read_more(&mut self, buf: &mut Vec<u8>) -> io::Result<usize>;
    /// Writes `buf[..len]` whole.
    async fn write_whole(&mut self, buf: &mut Vec<u8>, len: usize) -> io::Result<()>;
}

/// Reads a request, writes it to this connection's upstream connection (made on the
/// first request), reads the answer whole and writes it back; again until either side
/// closes or sends what the floor does not forward.
pub(crate) async fn serve<C: Conn>(mut client: C, upstream: SocketAddr) -> io::Result<()> {
    let mut up: Option<C> = None;
    let mut req = Vec::with_capacity(head::REQUEST_ROOM);
    let mut ans = Vec::with_capacity(head::ANSWER_ROOM);
    loop {
        req.clear();
        let len = match read_message(&mut client, &mut req, head::next_request).await? {
            Some(n) => n,
            None => return Ok(()),
        };
        let conn = match &mut up {
            Some(conn) => conn,
            None => up.insert(C::connect(upstream).await?),
        };
        conn.write_whole(&mut req, len).await?;
        ans.clear();
        let total = match read_message(conn, &mut ans, head::next_answer).await? {
            Some(n) => n,
            None => return Ok(()),
        };
        client.write_whole(&mut ans, total).await?;
    }
}

/// Reads into `buf` until `next` finds a whole message; its length, or `None` when the
/// peer closed or sent what the floor does not forward. The head is parsed once it may be
/// whole, not again while the rest of the body arrives.
async fn read_message<C: Conn>(
    conn: &mut C,
    buf: &mut Vec<u8>,
    next: impl Fn(&mut Vec<u8>) -> Next,
) -> io::Result<Option<usize>> {
    loop {
        match next(buf) {
            Next::Forward(n) => return Ok(Some(n)),
            Next::Close => return Ok(None),
            Next::Read => {
                if conn.read_more(buf).await? == 0 {
                    return Ok(None);
                }
            }
            Next::ReadTo(n) => {
                while buf.len() < n {
                    if conn.read_more(buf).await? == 0 {
                        return Ok(None);
                    }
                }
                return Ok(Some(n));
            }
        }
    }
}
