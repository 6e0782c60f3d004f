//! The floor on io_uring: monoio's thread-per-core runtime (one thread here), one task
//! per client connection. Reads and writes hand their buffer to the kernel and get it back.

use crate::head::{self, Next};
use monoio::buf::IoBufMut;
use monoio::io::{AsyncReadRent, AsyncWriteRentExt};
use monoio::net::{TcpListener, TcpStream};
use std::io;
use std::net::SocketAddr;

/// Submission queue entries of the ring.
const RING_ENTRIES: u32 = 1024;

/// Serves `listen` until the process is killed.
pub fn run(listen: SocketAddr, upstream: SocketAddr) -> io::Result<()> {
    let mut rt = monoio::RuntimeBuilder::<monoio::IoUringDriver>::new()
        .with_entries(RING_ENTRIES)
        .build()?;
    rt.block_on(async move {
        let listener = TcpListener::bind(listen)?;
        loop {
            let (client, _) = listener.accept().await?;
            monoio::spawn(async move {
                if let Err(e) = serve(client, upstream).await {
                    crate::report(&e);
                }
            });
        }
    })
}

/// Appends what the socket has to `buf`'s spare room; returns the bytes read.
async fn read_more(sock: &mut TcpStream, buf: &mut Vec<u8>) -> io::Result<usize> {
    let (len, cap) = (buf.len(), buf.capacity());
    let (res, slice) = sock.read(std::mem::take(buf).slice_mut(len..cap)).await;
    *buf = slice.into_inner();
    res
}

/// Writes `buf[..len]` whole.
async fn write_whole(sock: &mut TcpStream, buf: &mut Vec<u8>, len: usize) -> io::Result<()> {
    buf.truncate(len);
    let (res, back) = sock.write_all(std::mem::take(buf)).await;
    *buf = back;
    res.map(|_| ())
}

/// As the epoll floor's `serve`, with owned buffers.
async fn serve(mut client: TcpStream, upstream: SocketAddr) -> io::Result<()> {
    client.set_nodelay(true)?;
    let mut up: Option<TcpStream> = None;
    let mut req = Vec::with_capacity(head::REQUEST_ROOM);
    let mut ans = Vec::with_capacity(head::ANSWER_ROOM);
    loop {
        req.clear();
        let len = loop {
            match head::next_request(&mut req) {
                Next::Forward(n) => break n,
                Next::Close => return Ok(()),
                Next::Read if read_more(&mut client, &mut req).await? == 0 => return Ok(()),
                Next::Read => {}
            }
        };
        let conn = match &mut up {
            Some(conn) => conn,
            None => up.insert(connect(upstream).await?),
        };
        write_whole(conn, &mut req, len).await?;
        ans.clear();
        let total = loop {
            match head::next_answer(&mut ans) {
                Next::Forward(n) => break n,
                Next::Close => return Ok(()),
                Next::Read if read_more(conn, &mut ans).await? == 0 => return Ok(()),
                Next::Read => {}
            }
        };
        write_whole(&mut client, &mut ans, total).await?;
    }
}

async fn connect(upstream: SocketAddr) -> io::Result<TcpStream> {
    let conn = TcpStream::connect_addr(upstream).await?;
    conn.set_nodelay(true)?;
    Ok(conn)
}
