//! Polling with a deadline: for conditions that become true "soon" (a listener started, a
//! health check flipped), without sleeping for a fixed guess.

use std::time::{Duration, Instant};

/// How long [`wait_until`] waits.
pub const WAIT_TIMEOUT: Duration = Duration::from_secs(10);

/// Between two polls of a thread.
const THREAD_EVERY: Duration = Duration::from_millis(50);
/// Between two polls of a task.
const TASK_EVERY: Duration = Duration::from_millis(5);

/// Polls `f` from this thread until it returns `Some`, for at most `timeout`; panics after.
pub fn eventually<T>(timeout: Duration, f: impl FnMut() -> Option<T>) -> T {
    within(timeout, f).unwrap_or_else(|| panic!("condition not met within {timeout:?}"))
}

/// Polls `f` from this thread until it returns `Some`, for at most `timeout`; `None` after
/// (for callers that explain the failure themselves).
pub fn within<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(THREAD_EVERY);
    }
}

/// Polls `cond` from this task until it holds, for at most `timeout`; returns whether it
/// held (the caller asserts with its own message).
pub async fn poll_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(TASK_EVERY).await;
    }
}

/// Polls `cond` from this task until it holds; panics naming `what` after [`WAIT_TIMEOUT`].
pub async fn wait_until(what: &str, cond: impl FnMut() -> bool) {
    if !poll_until(WAIT_TIMEOUT, cond).await {
        panic!("timed out waiting for {what}");
    }
}

/// Polls `f` from this task until it returns `Some`, for at most `timeout`; panics after.
pub async fn eventually_async<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let mut found = None;
    poll_until(timeout, || {
        found = f();
        found.is_some()
    })
    .await;
    found.unwrap_or_else(|| panic!("condition not met within {timeout:?}"))
}
