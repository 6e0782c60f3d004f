//! What a process costs, read from Linux's `/proc` (0 where it cannot be read).

use std::net::TcpStream;
use std::time::Duration;

use crate::poll::eventually;

/// utime + stime of process `pid`, in clock ticks (usually 100 a second).
pub fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The command name is in parentheses and may hold spaces; fields restart after it, at
    // field 3 (state). utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let field = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    field(11) + field(12)
}

/// How many file descriptors process `pid` has open.
pub fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// The clock ticks process `pid` burns while this thread sleeps `d`.
pub fn cpu_ticks_during(pid: u32, d: Duration) -> u64 {
    let before = cpu_ticks(pid);
    std::thread::sleep(d);
    cpu_ticks(pid).saturating_sub(before)
}

/// Opens connections to `addr` until process `pid`, whose descriptor limit is `nofile`,
/// has (nearly) all of them in use: more than it can accept, so the rest wait in the
/// kernel's queue. Dropping the connections frees the descriptors.
pub fn exhaust_fds(pid: u32, addr: &str, nofile: u64) -> Vec<TcpStream> {
    let conns: Vec<TcpStream> = (0..nofile + 32)
        .map(|_| TcpStream::connect(addr).expect("connect"))
        .collect();
    eventually(Duration::from_secs(10), || {
        (open_fds(pid) as u64 >= nofile - 1).then_some(())
    });
    conns
}
