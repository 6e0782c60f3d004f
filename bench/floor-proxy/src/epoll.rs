//! The floor on epoll: tokio's current-thread runtime, one task per client connection.

use crate::head::{self, Next};
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
    let mut req = Vec::with_capacity(head::REQUEST_ROOM);
    let mut ans = Vec::with_capacity(head::ANSWER_ROOM);
    loop {
        req.clear();
        let len = loop {
            match head::next_request(&mut req) {
                Next::Forward(n) => break n,
                Next::Close => return Ok(()),
                Next::Read if client.read_buf(&mut req).await? == 0 => return Ok(()),
                Next::Read => {}
            }
        };
        let conn = match &mut up {
            Some(conn) => conn,
            None => up.insert(connect(upstream).await?),
        };
        conn.write_all(&req[..len]).await?;
        ans.clear();
        let total = loop {
            match head::next_answer(&mut ans) {
                Next::Forward(n) => break n,
                Next::Close => return Ok(()),
                Next::Read if conn.read_buf(&mut ans).await? == 0 => return Ok(()),
                Next::Read => {}
            }
        };
        client.write_all(&ans[..total]).await?;
    }
}

async fn connect(upstream: SocketAddr) -> io::Result<TcpStream> {
    let conn = TcpStream::connect(upstream).await?;
    conn.set_nodelay(true)?;
    Ok(conn)
}
