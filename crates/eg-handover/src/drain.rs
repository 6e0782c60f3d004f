//! Process-wide count of listeners that are running or draining their connections.
//!
//! A listener takes a [`Guard`] when it starts and drops it once its last connection is
//! closed (or its drain gave up). A stopping process closes its objects, then waits with
//! [`wait_all`] so that connections finish their requests before the process exits.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Notify;

static ACTIVE: AtomicUsize = AtomicUsize::new(0);
static DONE: Notify = Notify::const_new();

/// Held by a listener from its start until its connections are drained.
#[derive(Debug)]
pub struct Guard(());

impl Drop for Guard {
    fn drop(&mut self) {
        if ACTIVE.fetch_sub(1, Ordering::AcqRel) == 1 {
            DONE.notify_waiters();
        }
    }
}

/// Counts one more running listener until the guard is dropped.
pub fn begin() -> Guard {
    ACTIVE.fetch_add(1, Ordering::AcqRel);
    Guard(())
}

/// How many listeners run or drain now.
pub fn active() -> usize {
    ACTIVE.load(Ordering::Acquire)
}

/// Waits until no listener runs or drains, at most `timeout`; whether they all finished.
pub async fn wait_all(timeout: Duration) -> bool {
    let wait = async {
        loop {
            let done = DONE.notified();
            tokio::pin!(done);
            done.as_mut().enable();
            if active() == 0 {
                return;
            }
            done.await;
        }
    };
    tokio::time::timeout(timeout, wait).await.is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waits_for_every_guard() {
        let a = begin();
        let b = begin();
        assert!(!wait_all(Duration::from_millis(20)).await);
        drop(a);
        let waiter = tokio::spawn(wait_all(Duration::from_secs(30)));
        tokio::task::yield_now().await;
        drop(b);
        assert!(waiter.await.unwrap());
        assert_eq!(active(), 0);
    }
}
