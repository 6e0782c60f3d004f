//! The floor on epoll: tokio's current-thread runtime, one task per client connection.

use crate::forward::{self, Conn};
use std::io;
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

impl Conn for TcpStream {
    async fn connect(addr: SocketAddr) -> io::Result<Self> {
        let conn = TcpStream::connect(addr).await?;
        conn.set_nodelay(true)?;
        Ok(conn)
    }

    async fn read_more(&mut self, buf: &mut Vec<u8>) -> io::Result<usize> {
        self.read_buf(buf).await
    }

    async fn write_whole(&mut self, buf: &mut Vec<u8>, len: usize) -> io::Result<()> {
        self.write_all(&buf[..len]).await
    }
}

/// Serves `listen` until the process is killed.
pub fn run(listen: SocketAddr, upstream: SocketAddr) -> io::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?;
    // A local set: the request loop's futures need not be `Send` on one thread.
    let tasks = tokio::task::LocalSet::new();
    tasks.block_on(&rt, async move {
        let listener = TcpListener::bind(listen).await?;
        loop {
            let (client, _) = listener.accept().await?;
            client.set_nodelay(true)?;
            tokio::task::spawn_local(async move {
                if let Err(e) = forward::serve(client, upstream).await {
                    crate::report(&e);
                }
            });
        }
    })
}
