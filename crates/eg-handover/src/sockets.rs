//! The process's listening sockets: the ones in use, to hand over, and the ones inherited
//! from the previous process, to take instead of binding.

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener};
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

static INHERITED: Mutex<Vec<TcpListener>> = Mutex::new(Vec::new());
static LIVE: Mutex<BTreeMap<u64, TcpListener>> = Mutex::new(BTreeMap::new());
static NEXT: AtomicU64 = AtomicU64::new(1);

/// Adds sockets received from the previous process; listeners that bind one of their
/// addresses take them (see [`take_inherited`]).
pub fn inherit(listeners: Vec<TcpListener>) {
    INHERITED.lock().extend(listeners);
}

/// Takes the inherited socket bound to the first of `candidates` that has one (a listener
/// passes the addresses it would bind, in its order of preference). The socket is switched
/// to non-blocking mode, ready for an async runtime.
pub fn take_inherited(candidates: &[SocketAddr]) -> Option<TcpListener> {
    let mut inherited = INHERITED.lock();
    for want in candidates {
        if let Some(i) = inherited
            .iter()
            .position(|l| l.local_addr().is_ok_and(|a| a == *want))
        {
            let l = inherited.swap_remove(i);
            if l.set_nonblocking(true).is_ok() {
                return Some(l);
            }
        }
    }
    None
}

/// How many inherited sockets no listener took yet.
pub fn inherited_left() -> usize {
    INHERITED.lock().len()
}

/// Closes the inherited sockets no listener took, and returns their addresses.
pub fn close_unclaimed() -> Vec<SocketAddr> {
    let left = std::mem::take(&mut *INHERITED.lock());
    left.iter().filter_map(|l| l.local_addr().ok()).collect()
}

/// A socket listed for hand-over while this value lives.
#[derive(Debug)]
pub struct Registration(u64);

impl Drop for Registration {
    fn drop(&mut self) {
        LIVE.lock().remove(&self.0);
    }
}

/// Lists `listener` among the sockets a binary upgrade hands over, until the returned
/// value is dropped. The list keeps a duplicate of the descriptor: drop the registration
/// when the listener stops, or the port stays open.
pub fn register(listener: &impl AsFd) -> std::io::Result<Registration> {
    let dup = TcpListener::from(listener.as_fd().try_clone_to_owned()?);
    let id = NEXT.fetch_add(1, Ordering::Relaxed);
    LIVE.lock().insert(id, dup);
    Ok(Registration(id))
}

/// Duplicates of the sockets in use now, with their addresses.
pub fn live() -> std::io::Result<Vec<(SocketAddr, TcpListener)>> {
    let live = LIVE.lock();
    let mut out: Vec<(SocketAddr, TcpListener)> = Vec::with_capacity(live.len());
    for l in live.values() {
        let addr = l.local_addr()?;
        // One socket listed twice (a hand-over between two generations) is sent once.
        if out.iter().any(|(a, _)| *a == addr) {
            continue;
        }
        out.push((addr, l.try_clone()?));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_sockets_are_listed_until_dropped_and_inherited_ones_taken_by_address() {
        let a = TcpListener::bind("127.0.0.1:0").unwrap();
        let b = TcpListener::bind("127.0.0.1:0").unwrap();
        let (aa, ba) = (a.local_addr().unwrap(), b.local_addr().unwrap());
        let ra = register(&a).unwrap();
        let rb = register(&b).unwrap();
        let listed: Vec<SocketAddr> = live().unwrap().into_iter().map(|(x, _)| x).collect();
        assert!(listed.contains(&aa) && listed.contains(&ba));
        drop(ra);
        let listed: Vec<SocketAddr> = live().unwrap().into_iter().map(|(x, _)| x).collect();
        assert!(!listed.contains(&aa) && listed.contains(&ba));
        drop(rb);

        inherit(vec![a, b]);
        let other: SocketAddr = "127.0.0.1:1".parse().unwrap();
        assert!(take_inherited(&[other]).is_none());
        let got = take_inherited(&[other, ba]).unwrap();
        assert_eq!(got.local_addr().unwrap(), ba);
        assert!(take_inherited(&[ba]).is_none());
        assert_eq!(close_unclaimed(), vec![aa]);
        assert_eq!(inherited_left(), 0);
    }
}
