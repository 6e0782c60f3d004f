//! Readiness for systemd (`Type=notify`): the sd_notify datagram protocol, spoken directly.
//!
//! When systemd started the server it sets `NOTIFY_SOCKET`; the server sends `READY=1` once
//! it serves, and `STOPPING=1` when it begins a graceful stop. A binary upgrade starts a new
//! process that is not systemd's main process: when it is ready it sends `MAINPID=<its pid>`
//! with `READY=1`, so systemd follows it (the unit needs `NotifyAccess=all`) instead of
//! seeing the old process exit and stopping the service. Without `NOTIFY_SOCKET` nothing is
//! sent.

use std::os::unix::net::UnixDatagram;

/// The environment variable systemd names its notification socket in.
pub const NOTIFY_SOCKET_ENV: &str = "NOTIFY_SOCKET";

/// Tells systemd this process serves and is the service's main process.
pub fn notify_ready() {
    notify(&format!(
        "READY=1\nMAINPID={}\nSTATUS=serving",
        std::process::id()
    ));
}

/// Tells systemd a graceful stop began.
pub fn notify_stopping() {
    notify("STOPPING=1");
}

/// Sends `state` to `$NOTIFY_SOCKET`, if set; failures are logged, never fatal.
fn notify(state: &str) {
    let Some(path) = std::env::var_os(NOTIFY_SOCKET_ENV) else {
        return;
    };
    if let Err(e) = send(&path.to_string_lossy(), state) {
        tracing::warn!(socket = %path.to_string_lossy(), error = %e, "cannot notify systemd");
    }
}

/// One datagram to a filesystem socket, or to an abstract one (`@name`).
fn send(path: &str, state: &str) -> std::io::Result<usize> {
    let socket = UnixDatagram::unbound()?;
    match path.strip_prefix('@') {
        Some(name) => {
            use std::os::linux::net::SocketAddrExt;
            let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())?;
            socket.send_to_addr(state.as_bytes(), &addr)
        }
        None => socket.send_to(state.as_bytes(), path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_reaches_a_filesystem_socket() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("notify");
        let listener = UnixDatagram::bind(&path).expect("bind");
        send(&path.to_string_lossy(), "READY=1").expect("sent");
        let mut buf = [0u8; 64];
        let n = listener.recv(&mut buf).expect("received");
        assert_eq!(&buf[..n], b"READY=1");
    }

    #[test]
    fn a_state_reaches_an_abstract_socket() {
        use std::os::linux::net::SocketAddrExt;
        let name = format!("eg-notify-test-{}", std::process::id());
        let addr =
            std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).expect("name");
        let listener = UnixDatagram::bind_addr(&addr).expect("bind");
        send(&format!("@{name}"), "STOPPING=1").expect("sent");
        let mut buf = [0u8; 64];
        let n = listener.recv(&mut buf).expect("received");
        assert_eq!(&buf[..n], b"STOPPING=1");
    }
}
