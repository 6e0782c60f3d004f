//! The heap profile in Go's layout: sample types `alloc_objects/count`,
//! `alloc_space/bytes`, `inuse_objects/count`, `inuse_space/bytes`, period
//! `space/bytes` = [`SAMPLE_RATE`].

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{Recorded, SAMPLE_RATE};
use crate::proto::{Builder, Line};

/// Leading frames of these functions are the allocator shims and are left out.
const SHIMS: [&str; 3] = ["__rust_", "__rdl_", "__rg_"];
/// Leading frames in this crate's files (the wrapper, inlined into a shim) too.
const OWN_FILES: &str = "eg-profile/src/";

fn allocator_frame(lines: &[Line]) -> bool {
    lines.iter().all(|l| {
        l.file.contains(OWN_FILES)
            || l.name.contains("eg_profile::")
            || SHIMS
                .iter()
                .any(|p| l.name.rsplit("::").next().is_some_and(|n| n.starts_with(p)))
    })
}

/// Encodes `r`, taken over `duration` since `start`.
pub(crate) fn encode(r: &Recorded, start: SystemTime, duration: Duration) -> Vec<u8> {
    let mut b = Builder::new(
        &[
            ("alloc_objects", "count"),
            ("alloc_space", "bytes"),
            ("inuse_objects", "count"),
            ("inuse_space", "bytes"),
        ],
        ("space", "bytes"),
        SAMPLE_RATE as i64,
    );
    let start = start.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    b.timing(start as i64, duration.as_nanos() as i64);
    let mut resolved: HashMap<usize, Vec<Line>> = HashMap::new();
    for (stack, idx) in &r.stacks {
        let Some(t) = r.totals.get(*idx) else {
            continue;
        };
        let mut frames: Vec<Vec<Line>> = stack
            .iter()
            .map(|ip| resolved.entry(*ip).or_insert_with(|| resolve(*ip)).clone())
            .collect();
        let own = frames
            .iter()
            .take_while(|lines| allocator_frame(lines))
            .count();
        frames.drain(..own);
        let locations: Vec<u64> = frames
            .into_iter()
            .filter(|lines| !lines.is_empty())
            .map(|lines| b.location(lines))
            .collect();
        b.sample(
            &locations,
            &[
                t.alloc_objects.round() as i64,
                t.alloc_bytes.round() as i64,
                t.inuse_objects.max(0.0).round() as i64,
                t.inuse_bytes.max(0.0).round() as i64,
            ],
            &[],
        );
    }
    b.encode()
}

/// The functions at a return address, innermost first. The address is moved back one
/// byte into the call instruction so that the call's line, not the next one, is found.
fn resolve(ip: usize) -> Vec<Line> {
    let mut lines = Vec::new();
    let addr = ip.saturating_sub(1) as *mut std::ffi::c_void;
    backtrace::resolve(addr, |sym| {
        let name = sym
            .name()
            .map(|n| format!("{n:#}"))
            .unwrap_or_else(|| format!("{ip:#x}"));
        lines.push(Line {
            name,
            file: sym
                .filename()
                .map(|f| f.display().to_string())
                .unwrap_or_default(),
            line: i64::from(sym.lineno().unwrap_or(0)),
        });
    });
    if lines.is_empty() {
        lines.push(Line {
            name: format!("{ip:#x}"),
            file: String::new(),
            line: 0,
        });
    }
    lines
}
