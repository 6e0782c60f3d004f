//! What the sampler recorded: per stack, the sampled allocations (scaled to estimates of
//! all allocations, as Go does) and which of them are still in use.
//!
//! Frees are matched without a lock: the addresses of live sampled blocks are also kept
//! in a fixed open-addressed table of atomics, which a free probes first; only a hit
//! takes the lock.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

use super::SAMPLE_RATE;

/// Most return addresses kept per stack.
const MAX_DEPTH: usize = 64;
/// Slots of the live-address table (64 Ki: 512 KiB, touched only while profiling).
const SLOTS: usize = 1 << 16;
/// Slots probed from an address's home slot.
const PROBES: usize = 64;
/// A freed slot, reusable by an insert; lookups go past it.
const TOMBSTONE: usize = 1;

static LIVE: [AtomicUsize; SLOTS] = [const { AtomicUsize::new(0) }; SLOTS];
static RECORD: Mutex<Option<Recorded>> = Mutex::new(None);

/// Estimated totals of one stack.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Totals {
    pub alloc_objects: f64,
    pub alloc_bytes: f64,
    pub inuse_objects: f64,
    pub inuse_bytes: f64,
}

/// Everything sampled since profiling started.
#[derive(Debug, Default)]
pub(crate) struct Recorded {
    /// Stacks (return addresses, innermost first) and their index in `totals`.
    pub stacks: HashMap<Vec<usize>, usize>,
    pub totals: Vec<Totals>,
    /// Live sampled blocks: address → (stack index, objects, bytes) they stand for.
    live: HashMap<usize, (usize, f64, f64)>,
}

/// Starts an empty record.
pub(super) fn reset() {
    clear_table();
    *RECORD.lock().unwrap_or_else(PoisonError::into_inner) = Some(Recorded::default());
}

/// Ends the record and hands it out.
pub(super) fn take() -> Recorded {
    let r = RECORD
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take()
        .unwrap_or_default();
    clear_table();
    r
}

fn clear_table() {
    for s in &LIVE {
        s.store(0, Ordering::Relaxed);
    }
}

/// Records a sampled allocation of `size` bytes at `addr`. Runs with the thread busy:
/// its own allocations are not sampled. The stack kept starts below the frame of the
/// function at `boundary` (the sampler's entry), when the unwinder reports it.
pub(super) fn sample(addr: usize, size: u64, boundary: usize) {
    let mut ips = [0usize; MAX_DEPTH];
    let mut n = 0;
    let mut start = 0;
    // SAFETY: on Linux the unwinder (libgcc's `_Unwind_Backtrace`) is thread-safe, which
    // is what the synchronised `trace` would otherwise ensure; the callback only copies
    // addresses into a local array.
    unsafe {
        backtrace::trace_unsynchronized(|f| {
            if start == 0 && f.symbol_address() as usize == boundary {
                // Everything so far is the sampler's own; keep the frames below it.
                n = 0;
                start = 1;
                return true;
            }
            ips[n] = f.ip() as usize;
            n += 1;
            n < MAX_DEPTH
        });
    }
    // Go's estimate: a block of `size` bytes is sampled with probability
    // 1 - exp(-size/rate), so it stands for 1/that blocks.
    let scale = 1.0 / (1.0 - (-(size as f64) / SAMPLE_RATE as f64).exp());
    let (objects, bytes) = (scale, scale * size as f64);
    let mut guard = RECORD.lock().unwrap_or_else(PoisonError::into_inner);
    let Some(r) = guard.as_mut() else {
        return;
    };
    let next = r.totals.len();
    let idx = *r.stacks.entry(ips[..n].to_vec()).or_insert(next);
    if idx == next {
        r.totals.push(Totals::default());
    }
    let t = &mut r.totals[idx];
    t.alloc_objects += objects;
    t.alloc_bytes += bytes;
    if insert(addr) {
        t.inuse_objects += objects;
        t.inuse_bytes += bytes;
        r.live.insert(addr, (idx, objects, bytes));
    }
}

/// A block at `addr` is being freed: if it was sampled, it is no longer in use.
pub(super) fn free(addr: usize) {
    if !contains(addr) {
        return;
    }
    let mut guard = RECORD.lock().unwrap_or_else(PoisonError::into_inner);
    let Some(r) = guard.as_mut() else {
        return;
    };
    if let Some((idx, objects, bytes)) = r.live.remove(&addr) {
        remove(addr);
        if let Some(t) = r.totals.get_mut(idx) {
            t.inuse_objects -= objects;
            t.inuse_bytes -= bytes;
        }
    }
}

fn home(addr: usize) -> usize {
    ((addr as u64 >> 4).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - 16)) as usize
}

/// Adds `addr` (under the record's lock); false when its probe window is full.
fn insert(addr: usize) -> bool {
    let h = home(addr);
    (0..PROBES).any(|i| {
        let slot = &LIVE[(h + i) % SLOTS];
        let v = slot.load(Ordering::Relaxed);
        (v == 0 || v == TOMBSTONE)
            && slot
                .compare_exchange(v, addr, Ordering::Release, Ordering::Relaxed)
                .is_ok()
    })
}

/// Whether `addr` is in the table. An address is stored in the first free slot of its
/// probe window, and slots before it only ever turn into tombstones, so an empty slot
/// ends the search.
fn contains(addr: usize) -> bool {
    let h = home(addr);
    for i in 0..PROBES {
        match LIVE[(h + i) % SLOTS].load(Ordering::Acquire) {
            0 => return false,
            v if v == addr => return true,
            _ => {}
        }
    }
    false
}

/// Removes `addr` (under the record's lock).
fn remove(addr: usize) {
    let h = home(addr);
    for i in 0..PROBES {
        let slot = &LIVE[(h + i) % SLOTS];
        if slot.load(Ordering::Relaxed) == addr {
            slot.store(TOMBSTONE, Ordering::Release);
            return;
        }
    }
}
