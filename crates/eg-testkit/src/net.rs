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

/// A TCP port free on 127.0.0.1 right now, below the kernel's ephemeral range, so that no
/// outgoing connection can take it before a long-lived server binds it (etcd members
/// connect to each other all the time; a port from [`free_port`] can be taken by one of
/// those connections between the choice and the bind).
pub fn stable_port() -> u16 {
    use std::sync::atomic::{AtomicU16, Ordering};
    // The low end of the ephemeral range (Linux default 32768).
    let low: u16 = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(32768);
    let first = 10_000u16.min(low.saturating_sub(1000));
    let span = low.saturating_sub(first).max(1);
    // Start at a place that differs between test processes, then walk.
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let seed = (std::process::id() as u16).wrapping_mul(7919);
    for _ in 0..span {
        let step = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = first + seed.wrapping_add(step) % span;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    free_port()
}
