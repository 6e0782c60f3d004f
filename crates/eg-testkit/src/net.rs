//! Ephemeral loopback ports.

use std::net::{SocketAddr, TcpListener};

/// A TCP port free on 127.0.0.1 right now (the kernel picks it; nothing holds it after).
pub fn free_port() -> u16 {
    closed_addr().port()
}

/// An address on 127.0.0.1 nothing listens on right now: connecting to it is refused.
pub fn closed_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("an ephemeral port on 127.0.0.1")
}
