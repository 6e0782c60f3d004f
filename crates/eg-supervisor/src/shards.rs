//! Counters that many threads add to without a locked instruction.
//!
//! A `fetch_add` on x86 is a locked read-modify-write: about 6 ns on these machines even
//! when no other core touches the line, and it drains the store buffer. A proxied request
//! records some thirty statistics and series, so the request path spent more on those
//! instructions than on parsing its head.
//!
//! [`Shards`] gives every thread that records its own copy of the counters (a *shard*).
//! A thread owns one of a fixed number of slot indexes while it lives; the shard at that
//! index has a single writer, which adds with a plain load and store ([`Writer::add`]).
//! Threads beyond the owned slots share the last shard and add with `fetch_add`, so a
//! count is never lost, only slower to make. Readers sum the shards. An index goes back
//! to the pool when its thread exits, and the next thread to claim it carries on adding
//! to the same shard (the handover goes through a mutex, so the new owner sees the old
//! owner's last stores).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, LazyLock, OnceLock};

use parking_lot::Mutex;

/// The most owned slots, whatever the core count.
const MAX_OWNED: usize = 64;
/// The fewest owned slots: room for a small runtime plus a thread or two that also record.
const MIN_OWNED: usize = 4;

/// Owned slots: twice the cores (worker threads plus the odd recording thread beside them).
static OWNED: LazyLock<usize> = LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    (cores * 2).clamp(MIN_OWNED, MAX_OWNED)
});

/// Slot indexes: the ones given back by exited threads, and the next never given.
static POOL: Mutex<(Vec<usize>, usize)> = Mutex::new((Vec::new(), 0));

/// [`INDEX`] before this thread's first write.
const UNCLAIMED: usize = usize::MAX;
/// [`INDEX`] of a thread that got no owned slot, or is exiting.
const NONE: usize = usize::MAX - 1;

thread_local! {
    /// The slot index this thread owns. Constant-initialised and without a destructor, so
    /// reading it is one thread-local load, and it stays readable while the thread exits.
    static INDEX: std::cell::Cell<usize> = const { std::cell::Cell::new(UNCLAIMED) };
    /// Gives this thread's index back when the thread exits.
    static RELEASE: Release = const { Release };
}

/// Gives back the index in [`INDEX`] when dropped (at thread exit).
struct Release;

impl Drop for Release {
    fn drop(&mut self) {
        let i = INDEX.with(|c| c.replace(NONE));
        if i < NONE {
            POOL.lock().0.push(i);
        }
    }
}

/// Claims an index for this thread: one given back by an exited thread, or a new one while
/// there are any; [`NONE`] otherwise.
#[cold]
fn claim() -> usize {
    // Registers the release; fails only while this thread is already exiting.
    if RELEASE.try_with(|_| ()).is_err() {
        INDEX.with(|c| c.set(NONE));
        return NONE;
    }
    let mut pool = POOL.lock();
    let (free, next) = &mut *pool;
    let i = match free.pop() {
        Some(i) => i,
        None if *next < *OWNED => {
            *next += 1;
            *next - 1
        }
        None => NONE,
    };
    INDEX.with(|c| c.set(i));
    i
}

/// This thread's owned index; [`NONE`] when all are taken or the thread is exiting.
#[inline]
fn owned_index() -> usize {
    match INDEX.with(std::cell::Cell::get) {
        UNCLAIMED => claim(),
        i => i,
    }
}

/// Per-thread copies of `T`, each created on its thread's first write.
#[derive(Debug)]
pub struct Shards<T> {
    /// One per owned index, then the shared one. Reference-counted so that a caller can
    /// keep a handle on its thread's shard ([`Shards::local_handle`]).
    slots: Box<[OnceLock<Arc<T>>]>,
}

impl<T> Default for Shards<T> {
    fn default() -> Self {
        Shards {
            slots: (0..=*OWNED).map(|_| OnceLock::new()).collect(),
        }
    }
}

impl<T> Shards<T> {
    /// No shard yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// This thread's shard (made by `init` on first use), and how to add to it.
    #[inline]
    pub fn local(&self, init: impl FnOnce() -> T) -> (&T, Writer) {
        let (slot, w) = self.slot(init);
        (slot, w)
    }

    /// Like [`Shards::local`], as a handle that outlives the borrow of `self`: for a caller
    /// that resolves several shards of other owners once per thread and keeps them side by
    /// side. The handle stays this thread's shard while the thread lives (an index is only
    /// handed to another thread after this one exits).
    pub fn local_handle(&self, init: impl FnOnce() -> T) -> (Arc<T>, Writer) {
        let (slot, w) = self.slot(init);
        (slot.clone(), w)
    }

    #[inline]
    fn slot(&self, init: impl FnOnce() -> T) -> (&Arc<T>, Writer) {
        let shared = self.slots.len() - 1;
        let (i, owned) = match owned_index() {
            i if i < shared => (i, true),
            _ => (shared, false),
        };
        (
            self.slots[i].get_or_init(|| Arc::new(init())),
            Writer { owned },
        )
    }

    /// Every shard made so far, to sum.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.slots.iter().filter_map(|s| s.get().map(|b| &**b))
    }
}

/// Adds to the counters of one shard: plainly when this thread is the shard's only
/// writer, with locked instructions when the shard is shared.
#[derive(Debug, Clone, Copy)]
pub struct Writer {
    owned: bool,
}

impl Writer {
    /// Whether this thread is the shard's only writer.
    #[inline]
    pub fn owned(self) -> bool {
        self.owned
    }

    /// `a += n`.
    #[inline]
    pub fn add(self, a: &AtomicU64, n: u64) {
        if self.owned {
            a.store(a.load(Relaxed).wrapping_add(n), Relaxed);
        } else {
            a.fetch_add(n, Relaxed);
        }
    }

    /// `a += v`, `a` holding an `f64`'s bits.
    #[inline]
    pub fn add_f64(self, a: &AtomicU64, v: f64) {
        let next = |bits: u64| (f64::from_bits(bits) + v).to_bits();
        if self.owned {
            a.store(next(a.load(Relaxed)), Relaxed);
        } else {
            // The closure always answers `Some`: the update cannot fail.
            let _ = a.fetch_update(Relaxed, Relaxed, |bits| Some(next(bits)));
        }
    }

    /// `a = min(a, v)`. Read first: a new extreme is rare.
    #[inline]
    pub fn min(self, a: &AtomicU64, v: u64) {
        if v < a.load(Relaxed) {
            if self.owned {
                a.store(v, Relaxed);
            } else {
                a.fetch_min(v, Relaxed);
            }
        }
    }

    /// `a = max(a, v)`. Read first: a new extreme is rare.
    #[inline]
    pub fn max(self, a: &AtomicU64, v: u64) {
        if v > a.load(Relaxed) {
            if self.owned {
                a.store(v, Relaxed);
            } else {
                a.fetch_max(v, Relaxed);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[derive(Default)]
    struct Tally {
        n: AtomicU64,
        sum: AtomicU64,
        min: AtomicU64,
        max: AtomicU64,
    }

    fn totals(s: &Shards<Tally>) -> (u64, f64, u64, u64) {
        let n = s.iter().map(|t| t.n.load(Relaxed)).sum();
        let sum = s.iter().map(|t| f64::from_bits(t.sum.load(Relaxed))).sum();
        let min = s.iter().map(|t| t.min.load(Relaxed)).min().unwrap_or(0);
        let max = s.iter().map(|t| t.max.load(Relaxed)).max().unwrap_or(0);
        (n, sum, min, max)
    }

    fn fresh() -> Tally {
        Tally {
            min: AtomicU64::new(u64::MAX),
            ..Tally::default()
        }
    }

    #[test]
    fn more_threads_than_owned_slots_lose_no_count() {
        let s = Arc::new(Shards::<Tally>::new());
        let threads = *OWNED + 6;
        let per = 20_000u64;
        std::thread::scope(|scope| {
            for t in 0..threads as u64 {
                let s = s.clone();
                scope.spawn(move || {
                    for i in 0..per {
                        let (tally, w) = s.local(fresh);
                        w.add(&tally.n, 1);
                        w.add_f64(&tally.sum, 0.5);
                        w.min(&tally.min, t * per + i + 1);
                        w.max(&tally.max, t * per + i + 1);
                    }
                });
            }
        });
        let (n, sum, min, max) = totals(&s);
        assert_eq!(n, threads as u64 * per);
        assert_eq!(sum, threads as f64 * per as f64 * 0.5);
        assert_eq!(min, 1);
        assert_eq!(max, threads as u64 * per);
        // Each thread wrote to its own shard or to the shared one.
        assert!(s.iter().count() <= *OWNED + 1);
    }

    #[test]
    fn a_handle_is_the_threads_own_shard() {
        let s = Shards::<Tally>::new();
        let (handle, w) = s.local_handle(fresh);
        w.add(&handle.n, 2);
        let (tally, w2) = s.local(fresh);
        assert!(std::ptr::eq(&*handle, tally));
        assert_eq!(w.owned(), w2.owned());
        // Another thread gets another shard, unless both share the last one (when other
        // tests' threads hold every owned index).
        std::thread::scope(|scope| {
            scope.spawn(|| {
                let (other, w2) = s.local_handle(fresh);
                assert_eq!(Arc::ptr_eq(&other, &handle), !w.owned() && !w2.owned());
                w2.add(&other.n, 3);
            });
        });
        assert_eq!(totals(&s).0, 5);
        // The handle keeps its shard alive once the table is gone.
        drop(s);
        assert_eq!(handle.n.load(Relaxed), 2);
    }

    #[test]
    fn an_exited_threads_slot_is_taken_over_with_its_counts() {
        let s = Arc::new(Shards::<Tally>::new());
        // One after another, far more threads than slots: each gives its slot back.
        for _ in 0..(*OWNED * 3) {
            let s = s.clone();
            std::thread::spawn(move || {
                let (tally, w) = s.local(fresh);
                w.add(&tally.n, 2);
            })
            .join()
            .expect("the recording thread ends");
        }
        assert_eq!(totals(&s).0, *OWNED as u64 * 6);
        // Slots are reused: other tests' threads may hold a few meanwhile, never all.
        assert!(s.iter().count() <= *OWNED + 1);
    }

    #[test]
    fn owned_and_shared_writers_compute_the_same() {
        for owned in [true, false] {
            let w = Writer { owned };
            let t = fresh();
            for v in [40u64, 7, 90, 3, 55] {
                w.add(&t.n, v);
                w.add_f64(&t.sum, v as f64 / 2.0);
                w.min(&t.min, v);
                w.max(&t.max, v);
            }
            assert_eq!(t.n.load(Relaxed), 195, "owned {owned}");
            assert_eq!(f64::from_bits(t.sum.load(Relaxed)), 97.5, "owned {owned}");
            assert_eq!(t.min.load(Relaxed), 3, "owned {owned}");
            assert_eq!(t.max.load(Relaxed), 90, "owned {owned}");
        }
    }
}
