//! Heap profiling: a wrapper around the global allocator that, while a memory profile is
//! being taken, samples allocations (on average one per [`SAMPLE_RATE`] bytes allocated,
//! Go's `MemProfileRate`) and records each sampled allocation's stack; frees of sampled
//! allocations are matched so that what is still in use at the end is known.
//!
//! Off profile, each allocation, reallocation and free costs one relaxed atomic load
//! and a predictable branch.

mod record;
mod write;

use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};

pub(crate) use record::Recorded;
pub(crate) use write::encode;

/// Average number of bytes allocated between two samples: 512 KiB, as Go.
pub const SAMPLE_RATE: u64 = 512 * 1024;

/// Sampling on: checked on every allocation and free.
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// Per-thread sampling state. Const-initialised without a destructor, so reaching it
/// never allocates and works until the thread is gone.
struct ThreadState {
    /// Set while this thread runs the sampler: allocations and frees it makes meanwhile
    /// (stack capture, tables) go straight to the inner allocator.
    busy: Cell<bool>,
    /// Bytes left before the next sample; 0 means not drawn yet.
    next: Cell<u64>,
    /// xorshift64* state of the sampling intervals; 0 means not seeded yet.
    rng: Cell<u64>,
    /// Set by [`probe`]: the next allocation of this thread marks `seen`.
    probing: Cell<bool>,
    seen: Cell<bool>,
}

thread_local! {
    static THREAD: ThreadState = const {
        ThreadState {
            busy: Cell::new(false),
            next: Cell::new(0),
            rng: Cell::new(0),
            probing: Cell::new(false),
            seen: Cell::new(false),
        }
    };
}

/// The global allocator `A`, sampled while a memory profile is being taken. Install it
/// in the program's `main.rs`:
///
/// ```ignore
/// #[global_allocator]
/// static GLOBAL: eg_profile::Sampled<easegress_server::Mimalloc> =
///     eg_profile::Sampled(easegress_server::Mimalloc);
/// ```
pub struct Sampled<A>(pub A);

// SAFETY: every method forwards to the inner allocator with the caller's own arguments,
// so the inner allocator's contract (which the caller upholds for us) is all that blocks
// are subject to: layouts, pointers and sizes are passed through unchanged and the inner
// result is returned unchanged. The sampler only reads the pointer value (never the
// memory behind it) and never unwinds: it takes no lock that the thread may already hold
// (its own allocations while sampling bypass it through `busy`), and a poisoned lock is
// used as is.
unsafe impl<A: GlobalAlloc> GlobalAlloc for Sampled<A> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc` is passed on unchanged.
        let p = unsafe { self.0.alloc(layout) };
        if ACTIVE.load(Ordering::Relaxed) && !p.is_null() {
            on_alloc(p, layout.size());
        }
        p
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as in `alloc`.
        let p = unsafe { self.0.alloc_zeroed(layout) };
        if ACTIVE.load(Ordering::Relaxed) && !p.is_null() {
            on_alloc(p, layout.size());
        }
        p
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // Before the block is freed: afterwards its address may be handed out (and
        // sampled) again by another thread.
        if ACTIVE.load(Ordering::Relaxed) {
            on_free(ptr);
        }
        // SAFETY: the caller's contract for `dealloc` is passed on unchanged.
        unsafe { self.0.dealloc(ptr, layout) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let active = ACTIVE.load(Ordering::Relaxed);
        if active {
            on_free(ptr);
        }
        // SAFETY: the caller's contract for `realloc` is passed on unchanged.
        let p = unsafe { self.0.realloc(ptr, layout, new_size) };
        if active && !p.is_null() {
            on_alloc(p, new_size);
        }
        p
    }
}

/// Runs `f` with this thread's state marked busy, unless it already is (the sampler's
/// own allocations) or the thread's storage is gone.
fn guarded(f: impl FnOnce(&ThreadState)) {
    let _ = THREAD.try_with(|t| {
        if t.busy.replace(true) {
            return;
        }
        f(t);
        t.busy.set(false);
    });
}

#[cold]
#[inline(never)]
fn on_alloc(p: *mut u8, size: usize) {
    guarded(|t| {
        if t.probing.get() {
            t.seen.set(true);
        }
        let size = size as u64;
        let mut next = t.next.get();
        if next == 0 {
            next = draw_interval(t);
        }
        if next > size {
            t.next.set(next - size);
            return;
        }
        t.next.set(draw_interval(t));
        record::sample(p as usize, size, on_alloc as fn(*mut u8, usize) as usize);
    });
}

#[cold]
#[inline(never)]
fn on_free(p: *mut u8) {
    guarded(|_| record::free(p as usize));
}

/// Bytes until the next sample: exponentially distributed with mean [`SAMPLE_RATE`]
/// (a Poisson process over allocated bytes, as Go samples).
fn draw_interval(t: &ThreadState) -> u64 {
    let mut x = t.rng.get();
    if x == 0 {
        // Seeded from the thread state's address and the clock-free sample count.
        x = (t as *const ThreadState as u64) | 1;
    }
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    t.rng.set(x);
    let r = x.wrapping_mul(0x2545_F491_4F6C_DD1D);
    // Uniform in (0, 1].
    let u = ((r >> 11) as f64 + 1.0) / (1u64 << 53) as f64;
    ((-u.ln()) * SAMPLE_RATE as f64) as u64 + 1
}

/// Turns sampling on; errors when the running program's global allocator is not
/// [`Sampled`] (an allocation made meanwhile was not seen).
pub(crate) fn start() -> Result<(), String> {
    record::reset();
    ACTIVE.store(true, Ordering::SeqCst);
    if probe() {
        Ok(())
    } else {
        ACTIVE.store(false, Ordering::SeqCst);
        Err(
            "memory profiling needs the sampling global allocator (eg_profile::Sampled), \
             which this program does not install"
                .to_string(),
        )
    }
}

/// Turns sampling off and hands out what was recorded.
pub(crate) fn stop() -> Recorded {
    ACTIVE.store(false, Ordering::SeqCst);
    record::take()
}

/// Whether an allocation made now passes through [`Sampled`].
fn probe() -> bool {
    let _ = THREAD.try_with(|t| {
        t.probing.set(true);
        t.seen.set(false);
    });
    drop(std::hint::black_box(Box::new(0u64)));
    THREAD
        .try_with(|t| {
            t.probing.set(false);
            t.seen.get()
        })
        .unwrap_or(false)
}
