//! `floor-proxy`: forwards HTTP/1.1 requests without bodies to one upstream and its
//! `Content-Length` answers back, byte for byte, one upstream connection per client
//! connection, on one thread. It does the least a proxy of this shape can do per request
//! (the system calls of every proxy, the parsing that finds where messages end, nothing
//! else), so its figures in the yardstick show how much of a proxy's cost is the kernel's.
//!
//! ```text
//! floor-proxy epoll|io_uring LISTEN_ADDR UPSTREAM_ADDR
//! ```
//!
//! Requests are not pipelined (bytes after a request are dropped). A request with a body,
//! an answer without a `Content-Length`, a head over `head::MAX_HEAD` or an upstream that
//! closes ends the client's connection.

mod epoll;
mod forward;
mod head;
mod io_uring;

use std::net::SocketAddr;
use std::process::ExitCode;

/// A connection's failure, printed when `FLOOR_DEBUG` is set (wrk's closes are normal).
fn report(e: &std::io::Error) {
    if std::env::var_os("FLOOR_DEBUG").is_some() {
        eprintln!("floor-proxy: connection: {e}");
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [runtime, listen, upstream] = args.as_slice() else {
        eprintln!("usage: floor-proxy epoll|io_uring LISTEN_ADDR UPSTREAM_ADDR");
        return ExitCode::from(2);
    };
    let (listen, upstream) = match (listen.parse::<SocketAddr>(), upstream.parse::<SocketAddr>()) {
        (Ok(l), Ok(u)) => (l, u),
        _ => {
            eprintln!("floor-proxy: addresses are IP:PORT, got {listen} and {upstream}");
            return ExitCode::from(2);
        }
    };
    let res = match runtime.as_str() {
        "epoll" => epoll::run(listen, upstream),
        "io_uring" => io_uring::run(listen, upstream),
        other => {
            eprintln!("floor-proxy: runtime is epoll or io_uring, got {other}");
            return ExitCode::from(2);
        }
    };
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("floor-proxy: {e}");
            ExitCode::FAILURE
        }
    }
}
