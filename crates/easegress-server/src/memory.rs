//! Memory the allocator holds free goes back to the operating system once a worker
//! thread has nothing to do.
//!
//! mimalloc returns freed pages to the OS lazily (after `purge_delay`, 1 s), and only when
//! the thread that owns them allocates again. A server that goes quiet after a burst —
//! thousands of connections served and then idle — would otherwise keep the burst's
//! memory resident indefinitely. The runtime calls [`on_thread_park`] whenever a worker
//! runs out of work; at most once per [`COLLECT_EVERY`] per thread it asks mimalloc to
//! collect, which hands empty pages to the arenas and purges those freed long enough
//! ago.
//!
//! C code linked into the server allocates with the C library's `malloc`, not with the
//! Rust allocator: AWS-LC, the default TLS crypto, keeps its keys, handshake state and
//! certificates' parsed forms there. glibc gives each thread that allocates an arena of
//! its own and never returns an arena's free pages by itself, so the same collection also
//! asks glibc to trim every arena ([`trim_c_heap`]).

use std::cell::Cell;
use std::time::{Duration, Instant};

/// Least time between two collections on one thread.
pub const COLLECT_EVERY: Duration = Duration::from_secs(1);
/// The clock is read at one park in this many: a busy thread parks between batches of
/// work, up to twice per request, and a clock read costs more than the rest of the hook.
/// An idle server still parks at least every idle sweep (500 ms) while it has listeners.
const PARKS_PER_CHECK: u32 = 8;

thread_local! {
    static PARKS: Cell<u32> = const { Cell::new(0) };
    static LAST_COLLECT: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// Called when a runtime thread parks: at every [`PARKS_PER_CHECK`]th park, collects when
/// the last collection on this thread is [`COLLECT_EVERY`] old.
pub fn on_thread_park() {
    let parks = PARKS.with(|p| {
        let n = p.get().wrapping_add(1);
        p.set(n);
        n
    });
    if !parks.is_multiple_of(PARKS_PER_CHECK) {
        return;
    }
    let now = Instant::now();
    let due = LAST_COLLECT.with(|last| {
        let due = last
            .get()
            .is_none_or(|t| now.duration_since(t) >= COLLECT_EVERY);
        if due {
            last.set(Some(now));
        }
        due
    });
    if due {
        collect();
    }
}

#[allow(unsafe_code)]
fn collect() {
    // SAFETY: `mi_collect` has no preconditions: any thread may call it at any time (with or
    // without mimalloc as the global allocator; a thread without a mimalloc heap returns at
    // once). With `force = false` it only frees memory mimalloc already holds as free and
    // purges pages whose purge delay has passed; it touches no memory the program owns.
    unsafe { libmimalloc_sys::mi_collect(false) }
    trim_c_heap();
}

/// Hands the whole free pages of glibc's malloc arenas back to the operating system.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn trim_c_heap() {
    // SAFETY: `malloc_trim` has no preconditions: any thread may call it at any time. It
    // takes each arena's own lock, and releases (`madvise(MADV_DONTNEED)`) only pages that
    // lie wholly inside free chunks; no block in use is moved or touched.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Other C libraries: nothing to trim through a portable interface.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim_c_heap() {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collections_are_paced_per_thread() {
        let parks = |n: u32| (0..n).for_each(|_| on_thread_park());
        PARKS.with(|p| p.set(0));
        LAST_COLLECT.with(|l| l.set(None));
        parks(PARKS_PER_CHECK - 1);
        assert_eq!(
            LAST_COLLECT.with(Cell::get),
            None,
            "no clock read before the check"
        );
        parks(1);
        let first = LAST_COLLECT
            .with(Cell::get)
            .expect("the first check collects");
        parks(PARKS_PER_CHECK);
        assert_eq!(
            LAST_COLLECT.with(Cell::get),
            Some(first),
            "a check within COLLECT_EVERY does not collect again"
        );
        // Another thread has its own pace.
        std::thread::spawn(move || {
            parks(PARKS_PER_CHECK);
            assert!(LAST_COLLECT.with(Cell::get).is_some());
        })
        .join()
        .unwrap();
    }
}
