//! The floor on io_uring: monoio's thread-per-core runtime (one thread here), one task
//! per client connection. Reads and writes hand their buffer to the kernel and get it back.

use crate::forward::{self, Conn};
use monoio::buf::IoBufMut;
use monoio::io::{AsyncReadRent, AsyncWriteRentExt};
use monoio::net::{TcpListener, TcpStream};
use std::io;
use std::net::SocketAddr;

/// Submission queue entries of the ring.
const RING_ENTRIES: u32 = 1024;

impl Conn for TcpStream {
    async fn connect(addr: SocketAddr) -> io::Result<Self> {
        let conn = TcpStream::connect_addr(addr).await?;
        conn.set_nodelay(true)?;
        Ok(conn)
    }

    async fn read_more(&mut self, buf: &mut Vec<u8>) -> io::Result<usize> {
        let (len, cap) = (buf.len(), buf.capacity());
        let (res, slice) = self.read(std::mem::take(buf).slice_mut(len..cap)).await;
        *buf = slice.into_inner();
        res
    }

    async fn write_whole(&mut self, buf: &mut Vec<u8>, len: usize) -> io::Result<()> {
        buf.truncate(len);
        let (res, back) = self.write_all(std::mem::take(buf)).await;
        *buf = back;
        res.map(|_| ())
    }
}

/// Serves `listen` until the process is killed.
pub fn run(listen: SocketAddr, upstream: SocketAddr) -> io::Result<()> {
    let mut rt = monoio::RuntimeBuilder::<monoio::IoUringDriver>::new()
        .with_entries(RING_ENTRIES)
        .build()?;
    rt.block_on(async move {
        let listener = TcpListener::bind(listen)?;
        loop {
            let (client, _) = listener.accept().await?;
            client.set_nodelay(true)?;
            monoio::spawn(async move {
                if let Err(e) = forward::serve(client, upstream).await {
                    crate::report(&e);
                }
            });
        }
    })
}
