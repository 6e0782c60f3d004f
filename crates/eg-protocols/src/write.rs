//! Writing a whole buffer to a socket, at once when the socket has room.

use std::io;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::socket::try_write;

/// Writes all of `buf` to `stream`.
///
/// A socket with room in its send buffer (nearly always, for a head or a short answer)
/// takes it in one [`try_write`]: a plain load of the socket's cached readiness, then the
/// system call. [`AsyncWriteExt::write_all`] polls write readiness first, which also
/// charges the task's cooperative budget, some hundred instructions before the same
/// system call. What a full socket leaves is written by `write_all`, which waits for room.
pub async fn write_all(stream: &mut TcpStream, buf: &[u8]) -> io::Result<()> {
    let written = match try_write(stream, buf) {
        Ok(n) => n,
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => 0,
        Err(e) => return Err(e),
    };
    match buf.get(written..) {
        Some(rest) if !rest.is_empty() => stream.write_all(rest).await,
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::socket::connected_pair as pair;
    use tokio::io::AsyncReadExt;

    #[tokio::test]
    async fn a_short_buffer_arrives_whole() {
        let (mut a, mut b) = pair().await;
        write_all(&mut a, b"HTTP/1.1 200 OK\r\n\r\n").await.unwrap();
        let mut got = [0u8; 19];
        b.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"HTTP/1.1 200 OK\r\n\r\n");
    }

    #[tokio::test]
    async fn what_a_full_socket_leaves_is_written_once_there_is_room() {
        let (mut a, mut b) = pair().await;
        // Far more than the send and receive buffers hold together: the first try
        // writes part of it at most, and the rest waits for the reader.
        let big: Vec<u8> = (0..16 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
        let reader = tokio::spawn(async move {
            let mut got = Vec::new();
            b.read_to_end(&mut got).await.unwrap();
            got
        });
        write_all(&mut a, &big).await.unwrap();
        drop(a);
        assert!(reader.await.unwrap() == big);
    }

    #[tokio::test]
    async fn a_closed_peer_is_an_error() {
        let (mut a, b) = pair().await;
        drop(b);
        // The peer's reset arrives after the first write at the latest.
        let mut failed = false;
        for _ in 0..64 {
            if write_all(&mut a, &[0u8; 64 * 1024]).await.is_err() {
                failed = true;
                break;
            }
        }
        assert!(failed);
    }
}
