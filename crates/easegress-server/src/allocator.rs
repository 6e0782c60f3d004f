//! The global allocator: mimalloc, entered through its plain functions.
//!
//! The `mimalloc` crate's allocator calls `mi_malloc_aligned` for every layout. For a block
//! over 1 KiB whose size class is not a power of two (a request handler's future, about
//! 3 KiB, is boxed for every request), mimalloc v3 serves that call by over-allocating by
//! the alignment and aligning inside the block: some 230 instructions instead of some 30,
//! and more memory. Nearly every Rust layout asks for 16 bytes of alignment or less, which
//! a plain `mi_malloc` block nearly always has; so this allocator takes a plain block,
//! checks its alignment, and only when it falls short (or the layout wants more than 16)
//! asks for an aligned one.

#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

use libmimalloc_sys as mi;

/// Alignments up to this are tried with the plain entry points first (`max_align_t`).
const PLAIN_ALIGN_MAX: usize = 16;

/// mimalloc as the global allocator; see the module documentation.
#[derive(Debug, Default, Clone, Copy)]
pub struct Mimalloc;

/// Whether `p` (non-null) meets `align` (a power of two).
#[inline]
fn aligned(p: *mut c_void, align: usize) -> bool {
    (p as usize) & (align - 1) == 0
}

// SAFETY: every block handed out comes from mimalloc and is at least `layout.size()` bytes
// (mimalloc's contract for `mi_malloc`, `mi_zalloc`, `mi_realloc` and their `_aligned`
// forms), and is aligned to `layout.align()`: a plain block is returned only after the
// check above proved its address a multiple of the alignment, otherwise the `_aligned`
// entry point, whose contract is that alignment, supplies it. Null is returned only when
// mimalloc returns null. `mi_free` takes any block from any of these entry points, and
// `mi_realloc` any block, keeping the first `min(old, new)` bytes; when its result is not
// aligned enough, `mi_realloc_aligned` moves those bytes into an aligned block, so the
// contract of `realloc` (contents kept, old block no longer used) holds either way. A
// null from `realloc` must leave the caller's block valid, which is no longer possible
// once `mi_realloc` has moved it: that case aborts rather than return null.
unsafe impl GlobalAlloc for Mimalloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let (size, align) = (layout.size(), layout.align());
        if align <= PLAIN_ALIGN_MAX {
            // SAFETY: `mi_malloc` has no precondition.
            let p = unsafe { mi::mi_malloc(size) };
            if p.is_null() || aligned(p, align) {
                return p.cast();
            }
            // SAFETY: `p` came from `mi_malloc` just now and is not used again.
            unsafe { mi::mi_free(p) };
        }
        // SAFETY: `align` is a power of two (a `Layout` guarantees it).
        unsafe { mi::mi_malloc_aligned(size, align).cast() }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let (size, align) = (layout.size(), layout.align());
        if align <= PLAIN_ALIGN_MAX {
            // SAFETY: `mi_zalloc` has no precondition.
            let p = unsafe { mi::mi_zalloc(size) };
            if p.is_null() || aligned(p, align) {
                return p.cast();
            }
            // SAFETY: `p` came from `mi_zalloc` just now and is not used again.
            unsafe { mi::mi_free(p) };
        }
        // SAFETY: `align` is a power of two (a `Layout` guarantees it).
        unsafe { mi::mi_zalloc_aligned(size, align).cast() }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        // SAFETY: the caller passes a block this allocator returned, which mimalloc made.
        unsafe { mi::mi_free(ptr.cast()) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let align = layout.align();
        if align > PLAIN_ALIGN_MAX {
            // SAFETY: `ptr` is a mimalloc block (the caller's contract) and `align` a power
            // of two.
            return unsafe { mi::mi_realloc_aligned(ptr.cast(), new_size, align).cast() };
        }
        // SAFETY: `ptr` is a mimalloc block (the caller's contract).
        let p = unsafe { mi::mi_realloc(ptr.cast(), new_size) };
        if p.is_null() || aligned(p, align) {
            return p.cast();
        }
        // SAFETY: `p` is the mimalloc block `mi_realloc` just returned and `align` a power
        // of two; on success the contents move to an aligned block and `p` is freed.
        let q = unsafe { mi::mi_realloc_aligned(p, new_size, align) };
        if q.is_null() {
            // `ptr` is gone (moved into `p`), so a null here would leave the caller holding
            // a freed block, which `realloc`'s contract forbids: stop instead. (A plain
            // block is short of 16-byte alignment only in size classes no such layout
            // uses, so this is not expected to run at all.)
            std::process::abort();
        }
        q.cast()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_meet_every_alignment_and_keep_their_contents() {
        let a = Mimalloc;
        for align in [1, 2, 4, 8, 16, 32, 64, 128, 4096] {
            for size in [1, 7, 8, 24, 100, 1000, 3000, 5000, 70_000] {
                if size < align && align > 16 {
                    continue;
                }
                let layout = Layout::from_size_align(size, align).unwrap();
                // SAFETY: a non-zero-sized layout; every block is freed with its layout.
                unsafe {
                    let p = a.alloc(layout);
                    assert!(!p.is_null());
                    assert_eq!(p as usize % align, 0, "size {size} align {align}");
                    p.write_bytes(0xab, size);
                    let z = a.alloc_zeroed(layout);
                    assert_eq!(z as usize % align, 0);
                    assert!(std::slice::from_raw_parts(z, size).iter().all(|&b| b == 0));
                    a.dealloc(z, layout);
                    let grown = a.realloc(p, layout, size * 3);
                    assert_eq!(
                        grown as usize % align,
                        0,
                        "realloc size {size} align {align}"
                    );
                    assert!(std::slice::from_raw_parts(grown, size)
                        .iter()
                        .all(|&b| b == 0xab));
                    a.dealloc(grown, Layout::from_size_align(size * 3, align).unwrap());
                }
            }
        }
    }
}
