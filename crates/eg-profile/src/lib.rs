//! Live profiling of the running process, written as pprof protobuf files (what
//! `go tool pprof` and `pprof` read), as Easegress does with Go's `runtime/pprof`:
//!
//! - CPU: SIGPROF sampling at [`cpu::FREQUENCY`] Hz from start until stop; the profile
//!   (`samples/count`, `cpu/nanoseconds`) is written at stop.
//! - Memory: allocations sampled on average once per [`heap::SAMPLE_RATE`] bytes while
//!   the profile runs, through the [`Sampled`] global allocator; written at stop as a
//!   heap profile with Go's sample types (`alloc_objects`, `alloc_space`,
//!   `inuse_objects`, `inuse_space`). It covers allocations made while it ran: "in use"
//!   means allocated during the profile and not freed by its end.
//!
//! One profiler per process ([`global`]): both the signal timer and the allocator are
//! process-wide.

pub mod cpu;
pub mod decode;
pub mod heap;
mod proto;

use std::fs::File;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Instant, SystemTime};

pub use heap::Sampled;

/// Why a profiling request failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProfileError {
    /// The request cannot be carried out as asked (e.g. the file cannot be created);
    /// nothing changed.
    BadRequest(String),
    /// This program cannot take the profile (no sampling allocator installed).
    Unsupported(String),
    /// Writing a finished profile failed; profiling is stopped anyway.
    Write(String),
}

impl std::fmt::Display for ProfileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProfileError::BadRequest(m) | ProfileError::Unsupported(m) | ProfileError::Write(m) => {
                f.write_str(m)
            }
        }
    }
}

impl std::error::Error for ProfileError {}

/// The files of the current or last profiles (empty strings when none was taken).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Status {
    /// CPU profile file.
    pub cpu_path: String,
    /// Memory profile file.
    pub memory_path: String,
}

struct MemSession {
    file: File,
    path: String,
    start: SystemTime,
    started: Instant,
}

struct State {
    cpu: Option<cpu::CpuSession>,
    cpu_path: String,
    mem: Option<MemSession>,
    mem_path: String,
}

/// Starts and stops the process's profiles.
pub struct Profiler {
    state: Mutex<State>,
}

static PROFILER: Profiler = Profiler {
    state: Mutex::new(State {
        cpu: None,
        cpu_path: String::new(),
        mem: None,
        mem_path: String::new(),
    }),
};

/// The process's profiler.
pub fn global() -> &'static Profiler {
    &PROFILER
}

fn create(kind: &str, path: &str) -> Result<File, ProfileError> {
    File::create(path)
        .map_err(|e| ProfileError::BadRequest(format!("create {kind} profile failed: {path}: {e}")))
}

impl Profiler {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The current or last profile files.
    pub fn status(&self) -> Status {
        let s = self.lock();
        Status {
            cpu_path: s.cpu_path.clone(),
            memory_path: s.mem_path.clone(),
        }
    }

    /// Starts a CPU profile to `path` (created or truncated now, written at stop). A CPU
    /// profile already running is finished and written first, as Easegress does. Fails
    /// with [`ProfileError::BadRequest`] when `path` cannot be created; a running profile
    /// then goes on unchanged.
    pub fn start_cpu(&self, path: &str) -> Result<(), ProfileError> {
        let mut s = self.lock();
        let file = create("cpu", path)?;
        if let Some(old) = s.cpu.take() {
            if let Err(e) = old.finish() {
                tracing::error!(path = %s.cpu_path, error = %e, "cpu profile not written");
            }
        }
        match cpu::CpuSession::start(file) {
            Ok(session) => {
                s.cpu = Some(session);
                s.cpu_path = path.to_string();
                tracing::info!(path, "cpu profile started");
                Ok(())
            }
            Err(e) => {
                let _ = std::fs::remove_file(path);
                Err(ProfileError::BadRequest(e))
            }
        }
    }

    /// Starts a memory profile to `path` (created or truncated now, written at stop). A
    /// memory profile already running goes on and will be written to `path` instead.
    /// Fails with [`ProfileError::BadRequest`] when `path` cannot be created and with
    /// [`ProfileError::Unsupported`] when the program's allocator is not [`Sampled`];
    /// nothing changes then.
    pub fn start_memory(&self, path: &str) -> Result<(), ProfileError> {
        let mut s = self.lock();
        let file = create("memory", path)?;
        if let Some(m) = s.mem.as_mut() {
            let old = std::mem::replace(&mut m.path, path.to_string());
            m.file = file;
            if !same_file(&old, path) {
                // Created empty by the previous start; its data now goes to `path`.
                let _ = std::fs::remove_file(&old);
            }
        } else {
            if let Err(e) = heap::start() {
                drop(file);
                let _ = std::fs::remove_file(path);
                return Err(ProfileError::Unsupported(e));
            }
            s.mem = Some(MemSession {
                file,
                path: path.to_string(),
                start: SystemTime::now(),
                started: Instant::now(),
            });
        }
        s.mem_path = path.to_string();
        tracing::info!(path, "memory profile started");
        Ok(())
    }

    /// Stops the running profiles and writes their files; the paths stay in [`status`].
    /// Returns the first write error (both profiles are stopped regardless).
    ///
    /// [`status`]: Profiler::status
    pub fn stop(&self) -> Result<(), ProfileError> {
        let mut s = self.lock();
        let mut result = Ok(());
        // Sampling ends first: the CPU profile's symbolisation below is not the
        // program's own allocation.
        let heap = s.mem.take().map(|m| (m, heap::stop()));
        if let Some(session) = s.cpu.take() {
            match session.finish() {
                Ok(()) => tracing::info!(path = %s.cpu_path, "cpu profile written"),
                Err(e) => result = Err(ProfileError::Write(format!("{}: {e}", s.cpu_path))),
            }
        }
        if let Some((mut m, recorded)) = heap {
            let bytes = heap::encode(&recorded, m.start, m.started.elapsed());
            use std::io::Write;
            match m.file.write_all(&bytes).and_then(|()| m.file.sync_all()) {
                Ok(()) => tracing::info!(path = %m.path, "memory profile written"),
                Err(e) => {
                    let e = ProfileError::Write(format!(
                        "write memory profile failed: {}: {e}",
                        m.path
                    ));
                    result = result.and(Err(e));
                }
            }
        }
        result
    }

    /// Starts the profiles of the `--cpu-profile-file` and `--memory-profile-file` flags.
    /// On failure nothing is left running.
    pub fn start_from_flags(
        &self,
        cpu: Option<&str>,
        memory: Option<&str>,
    ) -> Result<(), ProfileError> {
        if let Some(path) = cpu.filter(|p| !p.is_empty()) {
            self.start_cpu(path)?;
        }
        if let Some(path) = memory.filter(|p| !p.is_empty()) {
            if let Err(e) = self.start_memory(path) {
                let _ = self.stop();
                return Err(e);
            }
        }
        Ok(())
    }
}

fn same_file(a: &str, b: &str) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// This test program's allocator is not [`Sampled`]: memory profiling is refused and
    /// leaves no file or state behind.
    #[test]
    fn memory_profile_needs_the_sampling_allocator() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("heap.pprof");
        let e = global().start_memory(path.to_str().unwrap()).unwrap_err();
        assert!(matches!(e, ProfileError::Unsupported(_)), "{e:?}");
        assert!(!path.exists());
        assert_eq!(global().status(), Status::default());
    }
}
