//! The unix socket over which a running process hands its listening sockets to the process
//! that replaces it, and hears back when that process is ready.
//!
//! The old process binds a `SOCK_SEQPACKET` socket ([`Rendezvous`]) and starts the new
//! binary with the socket's path in its environment; the new process connects
//! ([`Peer::connect`]). Then, one message per line of this exchange:
//!
//! ```text
//! old → new   "L <addr> <addr> …"   with the sockets as SCM_RIGHTS, at most 32 a message
//! old → new   "E"                   end of the list
//! new → old   "R"                   every listener runs: the old process may stop
//! ```
//!
//! Each address is the one the old process had the socket bound to; the receiver checks it
//! against the socket itself. Message boundaries are kept (seqpacket), so descriptors
//! never arrive with another message's addresses.

use std::io::{IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::net::{SocketAddr, TcpListener};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rustix::net::{
    AddressFamily, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, ReturnFlags,
    SendAncillaryBuffer, SendAncillaryMessage, SendFlags, SocketAddrUnix, SocketFlags, SocketType,
};

/// The environment variable that names the hand-over socket to a new process.
pub const ENV: &str = "EG_UPGRADE_SOCK";

/// Most descriptors sent in one message.
const PER_MESSAGE: usize = 32;
/// Largest message.
const MAX_MESSAGE: usize = 4096;
/// How often waits check their deadline and the other process.
const TICK: Duration = Duration::from_millis(50);

fn io_err(e: rustix::io::Errno) -> std::io::Error {
    std::io::Error::from(e)
}

fn seqpacket() -> std::io::Result<OwnedFd> {
    rustix::net::socket_with(
        AddressFamily::UNIX,
        SocketType::SEQPACKET,
        SocketFlags::CLOEXEC,
        None,
    )
    .map_err(io_err)
}

/// The old process's end before the new one connected. Dropping it removes the socket file.
#[derive(Debug)]
pub struct Rendezvous {
    fd: OwnedFd,
    path: PathBuf,
}

impl Rendezvous {
    /// Binds the socket at `path`, replacing a file left there by an earlier attempt.
    pub fn bind(path: &Path) -> std::io::Result<Rendezvous> {
        let _ = std::fs::remove_file(path);
        let addr = SocketAddrUnix::new(path).map_err(io_err)?;
        let fd = seqpacket()?;
        rustix::net::bind(&fd, &addr).map_err(io_err)?;
        rustix::net::listen(&fd, 1).map_err(io_err)?;
        rustix::io::ioctl_fionbio(&fd, true).map_err(io_err)?;
        Ok(Rendezvous {
            fd,
            path: path.to_path_buf(),
        })
    }

    /// The socket's path, for the new process's environment.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Waits until the new process connects, until `deadline` or until `gone` says why the
    /// new process will never connect (it is checked between waits).
    pub fn accept(
        &self,
        deadline: Instant,
        mut gone: impl FnMut() -> Option<String>,
    ) -> Result<Peer, String> {
        loop {
            match rustix::net::accept_with(&self.fd, SocketFlags::CLOEXEC) {
                Ok(fd) => {
                    rustix::io::ioctl_fionbio(&fd, false)
                        .map_err(|e| format!("hand-over socket: {e}"))?;
                    return Ok(Peer { fd });
                }
                Err(rustix::io::Errno::AGAIN | rustix::io::Errno::INTR) => {}
                Err(e) => return Err(format!("hand-over socket: accept: {e}")),
            }
            if let Some(why) = gone() {
                return Err(why);
            }
            if Instant::now() >= deadline {
                return Err("the new process did not connect in time".into());
            }
            std::thread::sleep(TICK);
        }
    }
}

impl Drop for Rendezvous {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// A connected end of the hand-over socket.
#[derive(Debug)]
pub struct Peer {
    fd: OwnedFd,
}

impl Peer {
    /// Connects to the old process's socket at `path` (in the new process).
    pub fn connect(path: &Path) -> std::io::Result<Peer> {
        let addr = SocketAddrUnix::new(path).map_err(io_err)?;
        let fd = seqpacket()?;
        rustix::net::connect(&fd, &addr).map_err(io_err)?;
        Ok(Peer { fd })
    }

    fn send(&self, payload: &[u8], fds: &[BorrowedFd<'_>]) -> std::io::Result<()> {
        let mut space = vec![MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(fds.len()))];
        let mut control = SendAncillaryBuffer::new(&mut space);
        if !fds.is_empty() && !control.push(SendAncillaryMessage::ScmRights(fds)) {
            return Err(std::io::Error::other(
                "too many descriptors for one message",
            ));
        }
        let sent = rustix::net::sendmsg(
            &self.fd,
            &[IoSlice::new(payload)],
            &mut control,
            SendFlags::NOSIGNAL,
        )
        .map_err(io_err)?;
        if sent != payload.len() {
            return Err(std::io::Error::other("message cut short"));
        }
        Ok(())
    }

    /// One message and the descriptors that came with it; `None` when the other end closed.
    fn recv(&self) -> std::io::Result<Option<(String, Vec<OwnedFd>)>> {
        let mut buf = vec![0u8; MAX_MESSAGE];
        let mut space = vec![MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(PER_MESSAGE))];
        let mut control = RecvAncillaryBuffer::new(&mut space);
        let got = rustix::net::recvmsg(
            &self.fd,
            &mut [IoSliceMut::new(&mut buf)],
            &mut control,
            RecvFlags::CMSG_CLOEXEC,
        )
        .map_err(io_err)?;
        let mut fds = Vec::new();
        for msg in control.drain() {
            if let RecvAncillaryMessage::ScmRights(rights) = msg {
                fds.extend(rights);
            }
        }
        if got
            .flags
            .intersects(ReturnFlags::TRUNC | ReturnFlags::CTRUNC)
        {
            return Err(std::io::Error::other("hand-over message truncated"));
        }
        if got.bytes == 0 && fds.is_empty() {
            return Ok(None);
        }
        let text = String::from_utf8_lossy(&buf[..got.bytes]).into_owned();
        Ok(Some((text, fds)))
    }

    /// Sends the listening sockets with their addresses (in the old process).
    pub fn send_listeners(&self, listeners: &[(SocketAddr, TcpListener)]) -> std::io::Result<()> {
        for chunk in listeners.chunks(PER_MESSAGE) {
            let mut payload = String::from("L");
            for (addr, _) in chunk {
                payload.push(' ');
                payload.push_str(&addr.to_string());
            }
            let fds: Vec<BorrowedFd<'_>> = chunk.iter().map(|(_, l)| l.as_fd()).collect();
            self.send(payload.as_bytes(), &fds)?;
        }
        self.send(b"E", &[])
    }

    /// Receives the listening sockets (in the new process). Each one is checked to be bound
    /// to the address the old process named for it.
    pub fn recv_listeners(&self) -> std::io::Result<Vec<TcpListener>> {
        let mut out = Vec::new();
        loop {
            let Some((text, fds)) = self.recv()? else {
                return Err(std::io::Error::other(
                    "the old process closed the hand-over socket before the end of the list",
                ));
            };
            let mut words = text.split(' ');
            match words.next() {
                Some("E") => return Ok(out),
                Some("L") => {}
                _ => {
                    return Err(std::io::Error::other(format!(
                        "unexpected hand-over message {text:?}"
                    )))
                }
            }
            let addrs: Vec<&str> = words.collect();
            if addrs.len() != fds.len() {
                return Err(std::io::Error::other(format!(
                    "{} addresses came with {} sockets",
                    addrs.len(),
                    fds.len()
                )));
            }
            for (addr, fd) in addrs.into_iter().zip(fds) {
                let want: SocketAddr = addr.parse().map_err(|_| {
                    std::io::Error::other(format!("bad address {addr:?} in the hand-over"))
                })?;
                let listener = TcpListener::from(fd);
                let have = listener.local_addr()?;
                if have != want {
                    return Err(std::io::Error::other(format!(
                        "the socket named {want} is bound to {have}"
                    )));
                }
                out.push(listener);
            }
        }
    }

    /// Tells the old process that every listener runs (in the new process).
    pub fn send_ready(&self) -> std::io::Result<()> {
        self.send(b"R", &[])
    }

    /// Waits for the new process's "ready" (in the old process), until `deadline` or until
    /// `gone` says why it will never come.
    pub fn wait_ready(
        &self,
        deadline: Instant,
        mut gone: impl FnMut() -> Option<String>,
    ) -> Result<(), String> {
        rustix::net::sockopt::set_socket_timeout(
            &self.fd,
            rustix::net::sockopt::Timeout::Recv,
            Some(TICK),
        )
        .map_err(|e| format!("hand-over socket: {e}"))?;
        loop {
            match self.recv() {
                Ok(Some((text, _))) if text == "R" => return Ok(()),
                Ok(Some((text, _))) => {
                    return Err(format!("unexpected hand-over message {text:?}"));
                }
                Ok(None) => {
                    return Err(gone().unwrap_or_else(|| {
                        "the new process closed the hand-over socket before it was ready".into()
                    }))
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock
                            | std::io::ErrorKind::TimedOut
                            | std::io::ErrorKind::Interrupted
                    ) => {}
                Err(e) => return Err(format!("hand-over socket: {e}")),
            }
            if let Some(why) = gone() {
                return Err(why);
            }
            if Instant::now() >= deadline {
                return Err("the new process did not say it was ready in time".into());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    #[test]
    fn listeners_cross_with_their_addresses_and_ready_comes_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("upgrade.sock");
        let rendezvous = Rendezvous::bind(&path).unwrap();
        // More than one message's worth.
        let listeners: Vec<(SocketAddr, TcpListener)> = (0..PER_MESSAGE + 3)
            .map(|_| {
                let l = TcpListener::bind("127.0.0.1:0").unwrap();
                (l.local_addr().unwrap(), l)
            })
            .collect();
        let addrs: Vec<SocketAddr> = listeners.iter().map(|(a, _)| *a).collect();
        let child_path = path.clone();
        let child = std::thread::spawn(move || {
            let peer = Peer::connect(&child_path).unwrap();
            let got = peer.recv_listeners().unwrap();
            peer.send_ready().unwrap();
            got
        });
        let peer = rendezvous
            .accept(Instant::now() + Duration::from_secs(30), || None)
            .unwrap();
        peer.send_listeners(&listeners).unwrap();
        peer.wait_ready(Instant::now() + Duration::from_secs(30), || None)
            .unwrap();
        let got = child.join().unwrap();
        let got_addrs: Vec<SocketAddr> = got.iter().map(|l| l.local_addr().unwrap()).collect();
        assert_eq!(got_addrs, addrs);
        // The received socket is the same socket: a connection to it is accepted there.
        drop(listeners);
        let mut client = std::net::TcpStream::connect(addrs[0]).unwrap();
        let (mut server, _) = got[0].accept().unwrap();
        client.write_all(b"hi").unwrap();
        let mut buf = [0u8; 2];
        server.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"hi");
        drop(rendezvous);
        assert!(!path.exists());
    }

    #[test]
    fn a_peer_that_goes_away_is_noticed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("upgrade.sock");
        let rendezvous = Rendezvous::bind(&path).unwrap();
        let err = rendezvous
            .accept(Instant::now() + Duration::from_secs(30), || {
                Some("exited with status 1".into())
            })
            .unwrap_err();
        assert_eq!(err, "exited with status 1");
        let peer = Peer::connect(&path).unwrap();
        let old = rendezvous
            .accept(Instant::now() + Duration::from_secs(30), || None)
            .unwrap();
        drop(peer);
        let err = old
            .wait_ready(Instant::now() + Duration::from_secs(30), || None)
            .unwrap_err();
        assert!(err.contains("closed"), "{err}");
    }
}
