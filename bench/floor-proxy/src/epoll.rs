//! The floor on epoll: tokio's current-thread runtime, one task per client connection.

use crate::head::{self, Parsed};
use std::io;
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Serves `listen` until the process is killed.
pub fn run(listen: SocketAddr, upstream: SocketAddr) -> io::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?;
    rt.block_on(async move {
        let listener = TcpListener::bind(listen).await?;
        loop {
            let (client, _) = listener.accept().await?;
            tokio::spawn(async move {
                if let Err(e) = serve(client, upstream).await {
                    crate::report(&e);
                }
            });
        }
    })
}

/// Reads a request, writes it to this connection's upstream connection, reads the
/// answer whole and writes it back; again until either side closes.
async fn serve(mut client: TcpStream, upstream: SocketAddr) -> io::Result<()> {
    client.set_nodelay(true)?;
    let mut up: Option<TcpStream> = None;
    let mut req = Vec::with_capacity(crate::REQUEST_ROOM);
    let mut ans = Vec::with_capacity(crate::ANSWER_ROOM);
    loop {
        req.clear();
        let len = loop {
            if head::maybe_whole(&req) {
                match head::request(&req) {
                    Parsed::Complete(n) => break n,
                    Parsed::Refused => return Ok(()),
                    Parsed::Partial => {}
                }
            }
            if client.read_buf(&mut req).await? == 0 {
                return Ok(());
            }
        };
        let conn = match &mut up {
            Some(conn) => conn,
            None => {
                let conn = TcpStream::connect(upstream).await?;
                conn.set_nodelay(true)?;
                up.insert(conn)
            }
        };
        conn.write_all(&req[..len]).await?;
        ans.clear();
        let total = loop {
            if head::maybe_whole(&ans) {
                match head::answer(&ans) {
                    Parsed::Complete(n) if ans.len() >= n => break n,
                    Parsed::Complete(n) => ans.reserve(n - ans.len()),
                    Parsed::Refused => return Ok(()),
                    Parsed::Partial => {}
                }
            }
            if ans.capacity() == ans.len() {
                ans.reserve(crate::ANSWER_ROOM);
            }
            if conn.read_buf(&mut ans).await? == 0 {
                return Ok(());
            }
        };
        client.write_all(&ans[..total]).await?;
    }
}
