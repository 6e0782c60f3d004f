//! Write locks: the guard a writer holds around check-then-write.

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::{StoreError, StoreResult};

/// Held while a writer checks and then writes; dropping it releases the lock.
///
/// Embedded stores hand out a process-local lock; a cluster store hands out a lock shared
/// by every member (Easegress's `/config/lock`).
#[must_use = "the lock is released when the guard is dropped"]
pub struct WriteLock {
    release: Option<Box<dyn FnOnce() + Send>>,
}

impl WriteLock {
    /// A guard that runs `release` when dropped.
    pub fn new(release: impl FnOnce() + Send + 'static) -> WriteLock {
        WriteLock {
            release: Some(Box::new(release)),
        }
    }
}

impl Drop for WriteLock {
    fn drop(&mut self) {
        if let Some(release) = self.release.take() {
            release();
        }
    }
}

impl std::fmt::Debug for WriteLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WriteLock")
    }
}

/// A process-local mutual exclusion whose guard is `Send + 'static`, so it can be held
/// across `.await` points and released from any thread.
#[derive(Default)]
pub struct LocalLock {
    held: Mutex<bool>,
    freed: Condvar,
}

impl LocalLock {
    /// A new, free lock.
    pub fn new() -> Arc<LocalLock> {
        Arc::new(LocalLock::default())
    }

    /// Waits at most `timeout` for the lock.
    pub fn acquire(self: &Arc<Self>, timeout: Duration) -> StoreResult<WriteLock> {
        let deadline = Instant::now() + timeout;
        let mut held = self.held.lock();
        while *held {
            if self.freed.wait_until(&mut held, deadline).timed_out() && *held {
                return Err(StoreError::Unavailable(format!(
                    "write lock not acquired within {timeout:?}"
                )));
            }
        }
        *held = true;
        drop(held);
        let me = Arc::clone(self);
        Ok(WriteLock::new(move || me.release()))
    }

    fn release(&self) {
        *self.held.lock() = false;
        self.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_acquire_waits_then_times_out() {
        let l = LocalLock::new();
        let g = l.acquire(Duration::from_millis(10)).unwrap();
        assert!(l.acquire(Duration::from_millis(20)).is_err());
        drop(g);
        let _g = l.acquire(Duration::from_millis(10)).unwrap();
    }

    #[test]
    fn guard_released_from_another_thread() {
        let l = LocalLock::new();
        let g = l.acquire(Duration::from_millis(10)).unwrap();
        std::thread::spawn(move || drop(g)).join().unwrap();
        let _g = l.acquire(Duration::from_millis(10)).unwrap();
    }
}
