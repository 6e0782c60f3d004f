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
        let len = loop {
            match head::next_request(&mut req) {
                Next::Forward(n) => break n,
                Next::Close => return Ok(()),
                Next::Read if client.read_more(&mut req).await? == 0 => return Ok(()),
                Next::Read => {}
            }
        };
        let conn = match &mut up {
            Some(conn) => conn,
            None => up.insert(C::connect(upstream).await?),
        };
        conn.write_whole(&mut req, len).await?;
        ans.clear();
        let total = loop {
            match head::next_answer(&mut ans) {
                Next::Forward(n) => break n,
                Next::Close => return Ok(()),
                Next::Read if conn.read_more(&mut ans).await? == 0 => return Ok(()),
                Next::Read => {}
            }
        };
        client.write_whole(&mut ans, total).await?;
    }
}
