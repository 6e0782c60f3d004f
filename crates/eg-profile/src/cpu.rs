//! CPU profiling: the process is sampled on SIGPROF (pprof-rs) and the stacks are written
//! as a pprof CPU profile (`samples/count`, `cpu/nanoseconds`) when the session ends.

use std::fs::File;
use std::io::Write;
use std::time::UNIX_EPOCH;

use crate::proto::{Builder, Line};

/// Samples per second of CPU time, Go's `runtime/pprof` rate.
pub const FREQUENCY: i32 = 100;

/// Shared libraries in which a sample is dropped rather than unwound: the unwinder's own
/// (unwinding again from inside it could deadlock) and the vDSO. The C library is not
/// among them, so that time in system calls is in the profile as Go's profiler shows
/// it: the handler takes no C-library lock (it does not allocate, the server's
/// allocator is not the C library's), and `dl_iterate_phdr`, which the unwinder calls,
/// takes a recursive lock, so interrupting a thread inside it is safe.
const BLOCKLIST: [&str; 2] = ["libgcc", "vdso"];

/// A running CPU profile and the file it goes to.
pub(crate) struct CpuSession {
    guard: pprof::ProfilerGuard<'static>,
    file: File,
}

impl CpuSession {
    /// Starts sampling into `file` (already created).
    pub fn start(file: File) -> Result<CpuSession, String> {
        let guard = pprof::ProfilerGuardBuilder::default()
            .frequency(FREQUENCY)
            .blocklist(&BLOCKLIST)
            .build()
            .map_err(|e| format!("start cpu profile failed: {e}"))?;
        Ok(CpuSession { guard, file })
    }

    /// Stops sampling and writes the profile.
    pub fn finish(mut self) -> Result<(), String> {
        let report = self.guard.report().build();
        drop(self.guard);
        let report = report.map_err(|e| format!("build cpu profile failed: {e}"))?;
        let bytes = encode(&report);
        self.file
            .write_all(&bytes)
            .and_then(|()| self.file.sync_all())
            .map_err(|e| format!("write cpu profile failed: {e}"))
    }
}

/// The pprof message of a report: one location per unwound address (its inlined
/// functions as lines), samples labelled with the thread's name.
fn encode(report: &pprof::Report) -> Vec<u8> {
    let period = 1_000_000_000 / i64::from(report.timing.frequency.max(1));
    let mut b = Builder::new(
        &[("samples", "count"), ("cpu", "nanoseconds")],
        ("cpu", "nanoseconds"),
        period,
    );
    let start = report
        .timing
        .start_time
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64);
    b.timing(start, report.timing.duration.as_nanos() as i64);
    for (frames, count) in &report.data {
        let locations: Vec<u64> = frames
            .frames
            .iter()
            .map(|symbols| {
                b.location(
                    symbols
                        .iter()
                        .map(|s| Line {
                            name: s.name(),
                            file: s.filename().into_owned(),
                            line: i64::from(s.lineno()),
                        })
                        .collect(),
                )
            })
            .collect();
        let count = *count as i64;
        let thread = frames.thread_name_or_id();
        b.sample(
            &locations,
            &[count, count * period],
            &[("thread", thread.as_str())],
        );
    }
    b.encode()
}
