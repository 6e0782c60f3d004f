//! The sampling allocator in a program that installs it: allocations made while a memory
//! profile runs show up with their stacks and Go's sample types; frees are matched.

use std::alloc::System;

use eg_profile::decode::decode;
use eg_profile::Sampled;

#[global_allocator]
static GLOBAL: Sampled<System> = Sampled(System);

#[inline(never)]
fn allocate_kept(n: usize) -> Vec<Vec<u8>> {
    (0..n).map(|i| vec![i as u8; 64 * 1024]).collect()
}

#[inline(never)]
fn allocate_freed(n: usize) {
    for i in 0..n {
        drop(std::hint::black_box(vec![i as u8; 64 * 1024]));
    }
}

#[test]
fn sampled_allocations_and_frees_make_a_heap_profile() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("heap.pprof");
    let p = eg_profile::global();
    p.start_memory(path.to_str().unwrap()).unwrap();
    // 64 MiB kept and 64 MiB freed: about 128 samples each way at one per 512 KiB.
    let kept = allocate_kept(1024);
    allocate_freed(1024);
    p.stop().unwrap();
    drop(kept);

    let prof = decode(&std::fs::read(&path).unwrap()).unwrap();
    let in_fn = |name: &str, index: usize| -> i64 {
        prof.samples
            .iter()
            .filter(|s| prof.stack(s).iter().any(|f| f.contains(name)))
            .map(|s| s.values[index])
            .sum()
    };
    let mib = |b: i64| b as f64 / (1 << 20) as f64;
    // Estimates: within a wide band of the 64 MiB each function allocated.
    let (kept_alloc, kept_inuse) = (
        mib(in_fn("allocate_kept", 1)),
        mib(in_fn("allocate_kept", 3)),
    );
    let (freed_alloc, freed_inuse) = (
        mib(in_fn("allocate_freed", 1)),
        mib(in_fn("allocate_freed", 3)),
    );
    assert!(
        (32.0..128.0).contains(&kept_alloc),
        "kept allocated {kept_alloc} MiB"
    );
    assert!(
        (32.0..128.0).contains(&kept_inuse),
        "kept in use {kept_inuse} MiB"
    );
    assert!(
        (32.0..128.0).contains(&freed_alloc),
        "freed allocated {freed_alloc} MiB"
    );
    assert_eq!(freed_inuse, 0.0, "freed blocks still in use");
    assert_eq!(p.status().memory_path, path.to_str().unwrap());
    // Stacks start at the allocating code, not in the sampler.
    for s in &prof.samples {
        let stack = prof.stack(s);
        assert!(
            !stack.iter().any(|f| f.contains("__rust_alloc")
                || f == "trace"
                || f.contains("on_alloc")
                || f.contains("trace_unsynchronized")),
            "{stack:?}"
        );
    }
}
