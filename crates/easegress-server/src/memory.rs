//! Memory the allocator holds free goes back to the operating system once a worker
//! thread has nothing to do.
//!
//! mimalloc returns freed pages to the OS lazily (after `purge_delay`, 1 s), and only when
//! the thread that owns them allocates or collects again. A server that goes quiet after a
//! burst — thousands of connections served and then idle — would otherwise keep the
//! burst's memory resident indefinitely. The runtime calls [`on_thread_park`] whenever a
//! worker runs out of work; at most once per [`COLLECT_EVERY`] per thread it asks mimalloc
//! to collect, which hands empty pages to the arenas and purges those freed long enough
//! ago.
//!
//! A worker that parks for good once a burst is over may have collected less than
//! [`COLLECT_EVERY`] before, and a worker of the multi-threaded runtime that does not
//! hold the I/O driver is woken by nothing but new work: what it freed since would stay.
//! So a worker that worked since its last collection (parked [`PARKS_PER_CHECK`] times
//! without one) *owes* a collection, and so does one whose collection followed work (the
//! pages it freed are purged only by a later one, after the purge delay). The waker
//! thread ([`start_waker`]) looks once per [`COLLECT_EVERY`] for a worker that owes one
//! and has not parked since its last look, i.e. sleeps; then it wakes the runtime's
//! workers with as many empty tasks as there are workers, and each worker's next park
//! reads the clock and collects when due. A worker that only a timer wakes (the idle
//! sweep's, twice a second) collects at each of its checks and owes nothing, and the
//! waker sleeps while no worker owes anything.
//!
//! C code linked into the server allocates with the C library's `malloc`, not with the
//! Rust allocator: AWS-LC, the default TLS crypto, keeps its keys, handshake state and
//! certificates' parsed forms there. glibc gives each thread that allocates an arena of
//! its own and never returns an arena's free pages by itself, so the same collection also
//! asks glibc to trim every arena ([`trim_c_heap`]).

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::thread::Thread;
use std::time::{Duration, Instant};

/// Least time between two collections on one thread.
pub const COLLECT_EVERY: Duration = Duration::from_secs(1);
/// The clock is read at one park in this many: a busy thread parks between batches of
/// work, up to twice per request, and a clock read costs more than the rest of the hook.
/// The first park after a round of the waker reads it whatever the count.
const PARKS_PER_CHECK: u32 = 8;
/// Runtime threads the waker watches; more get their collections at their own parks only.
const WATCHED_THREADS: usize = 256;

/// What the waker sees of one runtime thread; a cache line each, as every park writes it.
#[repr(align(64))]
struct Slot {
    /// Parks so far (written by the thread alone: a plain store, no locked instruction):
    /// unchanged between two looks of the waker, the thread slept.
    parks: AtomicU32,
    /// The thread owes a collection.
    owes: AtomicBool,
}

static SLOTS: [Slot; WATCHED_THREADS] = [const {
    Slot {
        parks: AtomicU32::new(0),
        owes: AtomicBool::new(false),
    }
}; WATCHED_THREADS];
/// Slots handed out so far (may exceed [`WATCHED_THREADS`]: those threads have none).
static SLOTS_TAKEN: AtomicUsize = AtomicUsize::new(0);
/// Bumped by the waker at each of its rounds: a thread that sees a new value at a park
/// reads the clock there.
static WAKE_ROUND: AtomicU32 = AtomicU32::new(0);
/// The waker thread, unparked when a watched thread comes to owe a collection.
static WAKER: OnceLock<Thread> = OnceLock::new();

/// One runtime thread's pace, and its slot; a thread that ends while it owes a collection
/// no longer does.
struct ThreadPace {
    pace: Cell<Pace>,
    slot: Cell<Option<&'static Slot>>,
}

impl Drop for ThreadPace {
    fn drop(&mut self) {
        if let Some(slot) = self.slot.get() {
            slot.owes.store(false, Ordering::Relaxed);
        }
    }
}

thread_local! {
    static THREAD: ThreadPace = const {
        ThreadPace {
            pace: Cell::new(Pace::NEW),
            slot: Cell::new(None),
        }
    };
}

/// One runtime thread's collections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pace {
    parks: u32,
    last_collect: Option<Instant>,
    /// The waker's round this thread last saw.
    round: u32,
    /// Parks without a collection since the last collection.
    since: u32,
    /// It owes a collection: it parked [`PARKS_PER_CHECK`] times or more without one, so
    /// it worked (a thread that only a timer wakes collects at every check, as its
    /// collections are due), or its last collection followed such work.
    owes: bool,
}

impl Pace {
    const NEW: Pace = Pace {
        parks: 0,
        last_collect: None,
        round: 0,
        since: 0,
        owes: false,
    };

    /// One park: whether to collect now. `round` is the waker's round, `now` the clock.
    fn park(&mut self, round: u32, now: impl FnOnce() -> Instant) -> bool {
        self.parks = self.parks.wrapping_add(1);
        let woken = self.round != round;
        self.round = round;
        if woken || self.parks.is_multiple_of(PARKS_PER_CHECK) {
            let now = now();
            let due = self
                .last_collect
                .is_none_or(|t| now.duration_since(t) >= COLLECT_EVERY);
            if due {
                self.last_collect = Some(now);
                // Pages freed since the last collection are purged only by a later one,
                // after the purge delay: one more is owed after work.
                self.owes = self.since >= PARKS_PER_CHECK;
                self.since = 0;
                return true;
            }
        }
        self.since = self.since.saturating_add(1);
        self.owes |= self.since >= PARKS_PER_CHECK;
        false
    }
}

/// Called when a runtime thread parks: at every [`PARKS_PER_CHECK`]th park, and at the
/// first after a round of the waker, collects when the last collection on this thread is
/// [`COLLECT_EVERY`] old.
pub fn on_thread_park() {
    let round = WAKE_ROUND.load(Ordering::Relaxed);
    let (due, owed, pace, slot) = THREAD.with(|t| {
        let mut pace = t.pace.get();
        let owed = pace.owes;
        let due = pace.park(round, Instant::now);
        t.pace.set(pace);
        let slot = t.slot.get().or_else(|| {
            let slot = SLOTS.get(SLOTS_TAKEN.fetch_add(1, Ordering::Relaxed));
            t.slot.set(slot);
            slot
        });
        (due, owed, pace, slot)
    });
    if due {
        collect();
    }
    let owes = pace.owes;
    if let Some(slot) = slot {
        slot.parks.store(pace.parks, Ordering::Relaxed);
        if owes != owed {
            slot.owes.store(owes, Ordering::Relaxed);
            if owes {
                if let Some(waker) = WAKER.get() {
                    waker.unpark();
                }
            }
        }
    }
}

/// Starts the thread that wakes the runtime's `workers` threads when one of them sleeps
/// owing a collection (the module's documentation). Once per process; a later call does
/// nothing.
pub fn start_waker(runtime: tokio::runtime::Handle, workers: usize) -> std::io::Result<()> {
    if WAKER.get().is_some() {
        return Ok(());
    }
    let thread = std::thread::Builder::new()
        .name("eg-memory".into())
        .spawn(move || {
            let mut seen = [0u32; WATCHED_THREADS];
            loop {
                // Asleep while nothing is owed; a spurious unpark only costs a look.
                while !watched().iter().any(|s| s.owes.load(Ordering::Relaxed)) {
                    std::thread::park();
                }
                std::thread::sleep(COLLECT_EVERY);
                if sleeps_owing(&mut seen) {
                    WAKE_ROUND.fetch_add(1, Ordering::Relaxed);
                    // Tasks from outside the runtime go to its shared queue and wake
                    // parked workers; one that finds work wakes another, and each parks
                    // again after. A runtime shut down drops them unpolled.
                    for _ in 0..workers.max(1) {
                        drop(runtime.spawn(async {}));
                    }
                }
            }
        })?;
    let _ = WAKER.set(thread.thread().clone());
    Ok(())
}

/// Whether a watched thread owes a collection and has not parked since the last look,
/// whose park counts `seen` holds (and is given the new ones).
fn sleeps_owing(seen: &mut [u32; WATCHED_THREADS]) -> bool {
    let mut found = false;
    for (slot, seen) in watched().iter().zip(seen.iter_mut()) {
        let parks = slot.parks.load(Ordering::Relaxed);
        found |= slot.owes.load(Ordering::Relaxed) && parks == *seen;
        *seen = parks;
    }
    found
}

/// The slots handed out so far.
fn watched() -> &'static [Slot] {
    &SLOTS[..SLOTS_TAKEN.load(Ordering::Relaxed).min(WATCHED_THREADS)]
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

    /// Parks `n` times at `at` in round `round`; how many of them collected.
    fn parks(pace: &mut Pace, n: u32, round: u32, at: Instant) -> u32 {
        (0..n).map(|_| u32::from(pace.park(round, || at))).sum()
    }

    #[test]
    fn collections_are_paced() {
        let t0 = Instant::now();
        let mut pace = Pace::NEW;
        let mut read = false;
        for _ in 1..PARKS_PER_CHECK {
            assert!(!pace.park(0, || {
                read = true;
                t0
            }));
        }
        assert!(!read, "no clock read before the check");
        assert!(
            !pace.owes,
            "fewer parks than a check's: no work to speak of"
        );
        assert_eq!(parks(&mut pace, 1, 0, t0), 1, "the first check collects");
        assert!(!pace.owes);
        let soon = t0 + COLLECT_EVERY / 2;
        assert_eq!(
            parks(&mut pace, PARKS_PER_CHECK, 0, soon),
            0,
            "a check within COLLECT_EVERY does not collect"
        );
        assert!(pace.owes, "a check's worth of parks without a collection");
        let later = t0 + COLLECT_EVERY;
        assert_eq!(parks(&mut pace, PARKS_PER_CHECK, 0, later), 1);
        assert!(
            pace.owes,
            "the collection followed work: one more is owed for the purge"
        );
    }

    #[test]
    fn a_timer_woken_thread_owes_nothing() {
        // Parks spread out, as the idle sweep's: every check is due and collects.
        let t0 = Instant::now();
        let mut pace = Pace::NEW;
        for i in 1..=4 * PARKS_PER_CHECK {
            let at = t0 + COLLECT_EVERY * i;
            let collected = pace.park(0, || at);
            assert_eq!(collected, i % PARKS_PER_CHECK == 0);
            assert!(!pace.owes, "park {i}");
        }
    }

    #[test]
    fn a_round_of_the_waker_makes_the_next_park_check() {
        let t0 = Instant::now();
        let mut pace = Pace::NEW;
        // A burst, its last collection, then a few more parks and sleep.
        assert!(parks(&mut pace, 20 * PARKS_PER_CHECK, 0, t0) >= 1);
        assert!(pace.owes);
        // The waker's round a second later: the next park checks, whatever the count.
        let later = t0 + COLLECT_EVERY;
        assert_eq!(
            parks(&mut pace, 1, 1, later),
            1,
            "woken: checks and collects"
        );
        assert!(pace.owes, "after work: one more owed");
        // Woken again, a round later: the purge's collection; then nothing is owed, also
        // after a second park of the same wake.
        let again = later + COLLECT_EVERY;
        assert_eq!(parks(&mut pace, 1, 2, again), 1);
        assert_eq!(parks(&mut pace, 1, 2, again), 0);
        assert!(!pace.owes, "no work since: nothing owed");
    }

    #[test]
    fn a_thread_that_owes_and_sleeps_is_found() {
        // On a thread of its own, which takes a slot of its own; other tests' threads may
        // take slots meanwhile, so only this thread's slot is read.
        let slot = std::thread::spawn(|| {
            // A collection at the first check, and a check's worth of parks after it.
            (0..2 * PARKS_PER_CHECK).for_each(|_| on_thread_park());
            let slot = THREAD.with(|t| t.slot.get()).expect("a slot");
            assert!(
                slot.owes.load(Ordering::Relaxed),
                "worked after a collection"
            );
            slot
        })
        .join()
        .unwrap();
        let index = SLOTS
            .iter()
            .position(|s| std::ptr::eq(s, slot))
            .expect("a slot of the table");
        // The thread has ended: it no longer owes.
        assert!(!slot.owes.load(Ordering::Relaxed));
        let parks = slot.parks.load(Ordering::Relaxed);
        assert_eq!(parks, 2 * PARKS_PER_CHECK);
        let mut seen = [0u32; WATCHED_THREADS];
        seen[index] = parks;
        slot.owes.store(true, Ordering::Relaxed);
        let found = sleeps_owing(&mut seen);
        slot.owes.store(false, Ordering::Relaxed);
        assert!(found, "owes, and no park since the last look");
        seen[index] = parks - 1;
        slot.owes.store(true, Ordering::Relaxed);
        let _ = sleeps_owing(&mut seen);
        slot.owes.store(false, Ordering::Relaxed);
        assert_eq!(seen[index], parks, "the look keeps the new count");
    }
}
