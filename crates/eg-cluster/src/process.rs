//! The etcd server a primary member runs as a supervised child process.
//!
//! Flags map one to one from the member's cluster options, with the tuning Easegress gives
//! its embedded etcd. The child runs in its own process group (a terminal's Ctrl-C does
//! not reach it), its pid is recorded in `<data-dir>/etcd.pid`, it is restarted with
//! back-off when it exits, and it is stopped with SIGTERM, then SIGKILL after a timeout —
//! always by the pid this supervisor spawned, never by name.

use std::fs::OpenOptions;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

/// `--initial-cluster-state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClusterState {
    /// Bootstrap a new cluster.
    #[default]
    New,
    /// Join an existing cluster (after `member add`).
    Existing,
}

impl ClusterState {
    fn as_str(self) -> &'static str {
        match self {
            ClusterState::New => "new",
            ClusterState::Existing => "existing",
        }
    }
}

/// How to run the member's etcd.
#[derive(Debug, Clone)]
pub struct EtcdProcessOptions {
    /// The etcd binary; `None`: `etcd` on `PATH`.
    pub binary: Option<PathBuf>,
    /// Member name (`--name`).
    pub name: String,
    /// The member's data directory; etcd's is `<data_dir>/etcd`, its pid file
    /// `<data_dir>/etcd.pid`.
    pub data_dir: PathBuf,
    /// A separate WAL directory.
    pub wal_dir: Option<PathBuf>,
    /// Where `etcd_server.log` goes.
    pub log_dir: PathBuf,
    /// `--listen-client-urls`.
    pub listen_client_urls: Vec<String>,
    /// `--advertise-client-urls`.
    pub advertise_client_urls: Vec<String>,
    /// `--listen-peer-urls`.
    pub listen_peer_urls: Vec<String>,
    /// `--initial-advertise-peer-urls`.
    pub initial_advertise_peer_urls: Vec<String>,
    /// `--initial-cluster` as `(name, peer URL)` pairs.
    pub initial_cluster: Vec<(String, String)>,
    /// The cluster name, used as `--initial-cluster-token`.
    pub cluster_name: String,
    /// `--initial-cluster-state`.
    pub state: ClusterState,
    /// More flags, appended as given (tests pass `--heartbeat-interval` and
    /// `--election-timeout`).
    pub extra_args: Vec<String>,
    /// How long [`EtcdProcess::start`] waits for `/health`.
    pub ready_timeout: Duration,
    /// How long a stop waits after SIGTERM before SIGKILL.
    pub stop_timeout: Duration,
}

impl EtcdProcessOptions {
    /// Options for member `name` keeping its data in `data_dir`, with no URLs set yet.
    pub fn new(name: &str, data_dir: &Path, log_dir: &Path) -> EtcdProcessOptions {
        EtcdProcessOptions {
            binary: None,
            name: name.to_string(),
            data_dir: data_dir.to_path_buf(),
            wal_dir: None,
            log_dir: log_dir.to_path_buf(),
            listen_client_urls: Vec::new(),
            advertise_client_urls: Vec::new(),
            listen_peer_urls: Vec::new(),
            initial_advertise_peer_urls: Vec::new(),
            initial_cluster: Vec::new(),
            cluster_name: "eg-cluster-default-name".to_string(),
            state: ClusterState::New,
            extra_args: Vec::new(),
            ready_timeout: Duration::from_secs(600),
            stop_timeout: Duration::from_secs(10),
        }
    }

    /// etcd's own data directory.
    pub fn etcd_data_dir(&self) -> PathBuf {
        self.data_dir.join("etcd")
    }

    /// Where the child's pid is recorded.
    pub fn pid_file(&self) -> PathBuf {
        self.data_dir.join("etcd.pid")
    }

    /// The log file etcd writes.
    pub fn log_file(&self) -> PathBuf {
        self.log_dir.join("etcd_server.log")
    }

    /// A client URL to talk to this member (the first advertised one, else the first
    /// listened one).
    pub fn client_url(&self) -> Option<&str> {
        self.advertise_client_urls
            .first()
            .or(self.listen_client_urls.first())
            .map(String::as_str)
    }

    /// The command line, without the binary.
    pub fn args(&self) -> Vec<String> {
        let mut a: Vec<String> = Vec::with_capacity(48);
        let mut flag = |k: &str, v: String| {
            a.push(format!("--{k}"));
            a.push(v);
        };
        let initial_cluster = if self.initial_cluster.is_empty() {
            // Easegress: a primary without initial-cluster is a cluster of itself.
            self.initial_advertise_peer_urls
                .first()
                .map(|u| format!("{}={u}", self.name))
                .unwrap_or_default()
        } else {
            self.initial_cluster
                .iter()
                .map(|(n, u)| format!("{n}={u}"))
                .collect::<Vec<_>>()
                .join(",")
        };
        flag("name", self.name.clone());
        flag("data-dir", self.etcd_data_dir().display().to_string());
        if let Some(w) = &self.wal_dir {
            flag("wal-dir", w.display().to_string());
        }
        flag("listen-client-urls", self.listen_client_urls.join(","));
        flag(
            "advertise-client-urls",
            self.advertise_client_urls.join(","),
        );
        flag("listen-peer-urls", self.listen_peer_urls.join(","));
        flag(
            "initial-advertise-peer-urls",
            self.initial_advertise_peer_urls.join(","),
        );
        flag("initial-cluster", initial_cluster);
        flag("initial-cluster-token", self.cluster_name.clone());
        flag("initial-cluster-state", self.state.as_str().to_string());
        flag("auto-compaction-mode", "revision".into());
        flag("auto-compaction-retention", "10".into());
        flag("quota-backend-bytes", (8u64 << 30).to_string());
        flag("max-txn-ops", "10240".into());
        flag("max-request-bytes", (10u64 << 20).to_string());
        flag("snapshot-count", "5000".into());
        flag(
            "experimental-watch-progress-notify-interval",
            format!("{}s", PROGRESS_NOTIFY_INTERVAL.as_secs()),
        );
        flag("logger", "zap".into());
        flag("log-outputs", self.log_file().display().to_string());
        a.extend(self.extra_args.iter().cloned());
        a
    }
}

/// A failure to run etcd.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// No etcd binary.
    #[error("{0}")]
    BinaryNotFound(String),
    /// The options cannot work.
    #[error("etcd options: {0}")]
    Options(String),
    /// The child could not be started.
    #[error("cannot start etcd: {0}")]
    Spawn(String),
    /// It started but did not become healthy in time.
    #[error("etcd did not become healthy: {0}")]
    NotReady(String),
}

/// Finds the etcd binary: `explicit` when given (it must exist), else `etcd` on `PATH`.
pub fn find_binary(explicit: Option<&Path>) -> Result<PathBuf, ProcessError> {
    const HINT: &str = "install the Debian package `etcd-server` (apt-get install etcd-server) \
                        or give the path of an etcd 3.4+ binary";
    if let Some(p) = explicit {
        return if p.is_file() {
            Ok(p.to_path_buf())
        } else {
            Err(ProcessError::BinaryNotFound(format!(
                "etcd binary {} not found: {HINT}",
                p.display()
            )))
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let c = dir.join("etcd");
        if c.is_file() {
            return Ok(c);
        }
    }
    Err(ProcessError::BinaryNotFound(format!(
        "no `etcd` binary on PATH: {HINT}"
    )))
}

/// How often the supervised etcd tells every watcher how far it is, even when nothing
/// changed (etcd's default is 10 minutes): members take a watch silent for a few of these
/// for hung and open it elsewhere.
pub const PROGRESS_NOTIFY_INTERVAL: Duration = Duration::from_secs(5);

const BACKOFF_MIN: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// A child that ran this long is considered to have been healthy: back-off starts over.
const STABLE_AFTER: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(100);

/// The etcd this member supervises: its own child, or one a previous run of the member
/// started and left running (adopted by pid after checking its command line).
enum Running {
    Child(Child),
    Adopted(u32),
}

impl Running {
    fn id(&self) -> u32 {
        match self {
            Running::Child(c) => c.id(),
            Running::Adopted(pid) => *pid,
        }
    }

    /// `None` while it runs, else why it is gone.
    fn exited(&mut self) -> Option<String> {
        match self {
            Running::Child(c) => match c.try_wait() {
                Ok(None) => None,
                Ok(Some(status)) => Some(status.to_string()),
                Err(e) => Some(e.to_string()),
            },
            Running::Adopted(pid) => (!alive(*pid)).then(|| "exited".to_string()),
        }
    }
}

/// Whether `pid` is a live (not zombie) process.
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state is the first field after the parenthesised command name.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

/// The pid recorded in `opts.pid_file()` when that process is an etcd started with these
/// options' name and data directory (a previous run of this member left it running).
fn adoptable(opts: &EtcdProcessOptions) -> Option<u32> {
    let pid: u32 = std::fs::read_to_string(opts.pid_file())
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
    let has = |flag: &str, value: &str| {
        args.windows(2)
            .any(|w| w[0] == flag.as_bytes() && w[1] == value.as_bytes())
    };
    let data_dir = opts.etcd_data_dir().display().to_string();
    (alive(pid) && has("--name", &opts.name) && has("--data-dir", &data_dir)).then_some(pid)
}

struct State {
    child: Option<Running>,
    started: Instant,
    stopping: bool,
    restarts: u64,
}

struct Shared {
    opts: EtcdProcessOptions,
    binary: PathBuf,
    state: Mutex<State>,
    wake: Condvar,
}

/// A supervised etcd child. Dropping it stops the child.
pub struct EtcdProcess {
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl EtcdProcess {
    /// Starts etcd and waits until its `/health` says `true` (at most `ready_timeout`).
    pub async fn start(opts: EtcdProcessOptions) -> Result<EtcdProcess, ProcessError> {
        let client_url = opts.client_url().unwrap_or_default().to_string();
        let mut p = EtcdProcess::spawn(opts)?;
        let timeout = p.shared.opts.ready_timeout;
        if !p.wait_healthy(timeout).await {
            let log = p.shared.opts.log_file();
            p.stop();
            return Err(ProcessError::NotReady(format!(
                "{client_url}/health not true within {timeout:?}; see {}",
                log.display()
            )));
        }
        Ok(p)
    }

    /// Starts etcd and its supervision without waiting for it to be healthy: a member of a
    /// cluster that is still forming has no quorum (so no health) until enough of the other
    /// members started too.
    pub fn spawn(opts: EtcdProcessOptions) -> Result<EtcdProcess, ProcessError> {
        let binary = find_binary(opts.binary.as_deref())?;
        if opts.client_url().is_none() {
            return Err(ProcessError::Options("no client URL to listen on".into()));
        }
        if opts.listen_peer_urls.is_empty() || opts.initial_advertise_peer_urls.is_empty() {
            return Err(ProcessError::Options(
                "listen and advertised peer URLs are required".into(),
            ));
        }
        for d in [&opts.data_dir, &opts.log_dir] {
            std::fs::create_dir_all(d)
                .map_err(|e| ProcessError::Spawn(format!("cannot create {}: {e}", d.display())))?;
        }
        let child = match adoptable(&opts) {
            Some(pid) => {
                tracing::info!(pid, name = %opts.name, "adopting the etcd a previous run left running");
                Running::Adopted(pid)
            }
            None => Running::Child(spawn(&binary, &opts)?),
        };
        let shared = Arc::new(Shared {
            opts,
            binary,
            state: Mutex::new(State {
                child: Some(child),
                started: Instant::now(),
                stopping: false,
                restarts: 0,
            }),
            wake: Condvar::new(),
        });
        let s = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("etcd-supervisor".into())
            .spawn(move || supervise(&s))
            .map_err(|e| ProcessError::Spawn(format!("supervisor thread: {e}")))?;
        Ok(EtcdProcess {
            shared,
            thread: Some(thread),
        })
    }

    /// Polls `/health` until it says `true`; false after `timeout`.
    pub async fn wait_healthy(&self, timeout: Duration) -> bool {
        let Some(url) = self.shared.opts.client_url().map(str::to_string) else {
            return false;
        };
        let deadline = Instant::now() + timeout;
        loop {
            if crate::etcd::health(&url, Duration::from_millis(500)).await {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The pid of the running child, if one runs.
    pub fn pid(&self) -> Option<u32> {
        self.shared.state.lock().child.as_ref().map(Running::id)
    }

    /// How many times the child was restarted after exiting.
    pub fn restarts(&self) -> u64 {
        self.shared.state.lock().restarts
    }

    /// The options it runs with.
    pub fn options(&self) -> &EtcdProcessOptions {
        &self.shared.opts
    }

    /// Stops supervising and stops the child: SIGTERM, then SIGKILL after `stop_timeout`.
    /// Blocks until it exited.
    pub fn stop(&mut self) {
        let child = {
            let mut st = self.shared.state.lock();
            st.stopping = true;
            self.shared.wake.notify_all();
            st.child.take()
        };
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        if let Some(child) = child {
            terminate(child, self.shared.opts.stop_timeout);
        }
        let _ = std::fs::remove_file(self.shared.opts.pid_file());
    }
}

impl EtcdProcess {
    /// Stops supervising but leaves the child running with its pid file in place, for the
    /// process that replaces this one (a binary upgrade) to adopt. Blocks until the
    /// supervision thread ended.
    pub fn detach(mut self) {
        let child = {
            let mut st = self.shared.state.lock();
            st.stopping = true;
            self.shared.wake.notify_all();
            st.child.take()
        };
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        if let Some(c) = child {
            tracing::info!(pid = c.id(), "etcd left running for the next process");
        }
        // A `Child` that is dropped is neither killed nor waited for.
    }
}

impl Drop for EtcdProcess {
    fn drop(&mut self) {
        if self.thread.is_some() {
            self.stop();
        }
    }
}

fn spawn(binary: &Path, opts: &EtcdProcessOptions) -> Result<Child, ProcessError> {
    let stderr_path = opts.log_dir.join("etcd_server.stderr.log");
    let stderr = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&stderr_path)
        .map_err(|e| ProcessError::Spawn(format!("{}: {e}", stderr_path.display())))?;
    let child = Command::new(binary)
        .args(opts.args())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .process_group(0)
        .spawn()
        .map_err(|e| ProcessError::Spawn(format!("{}: {e}", binary.display())))?;
    if let Err(e) = std::fs::write(opts.pid_file(), format!("{}\n", child.id())) {
        tracing::warn!(error = %e, "cannot record the etcd pid");
    }
    tracing::info!(pid = child.id(), name = %opts.name, "etcd started");
    Ok(child)
}

/// SIGTERM, wait up to `timeout`, then SIGKILL; reaps a child.
fn terminate(running: Running, timeout: Duration) {
    let mut child = match running {
        Running::Child(c) => c,
        Running::Adopted(pid) => return terminate_adopted(pid, timeout),
    };
    // The child is not reaped yet, so its pid cannot have been reused.
    if let Some(pid) = i32::try_from(child.id())
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    {
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
    }
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(_)) | Err(_) => return,
            Ok(None) if Instant::now() >= deadline => break,
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    tracing::warn!(pid = child.id(), "etcd ignored SIGTERM; killing it");
    let _ = child.kill();
    let _ = child.wait();
}

/// Stops an adopted etcd: SIGTERM, then SIGKILL after `timeout`. Its command line was
/// checked when it was adopted and it is only signalled while `alive` says it still runs,
/// so a pid the kernel handed to another process (only possible once this one is gone)
/// is not signalled, short of a reuse between the check and the signal.
fn terminate_adopted(pid: u32, timeout: Duration) {
    let Some(p) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return;
    };
    if !alive(pid) {
        return;
    }
    let _ = rustix::process::kill_process(p, rustix::process::Signal::TERM);
    let deadline = Instant::now() + timeout;
    while alive(pid) {
        if Instant::now() >= deadline {
            tracing::warn!(pid, "etcd ignored SIGTERM; killing it");
            let _ = rustix::process::kill_process(p, rustix::process::Signal::KILL);
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn supervise(s: &Shared) {
    let mut backoff = BACKOFF_MIN;
    let mut st = s.state.lock();
    loop {
        if st.stopping {
            return;
        }
        let exited = match st.child.as_mut() {
            Some(r) => r.exited(),
            None => Some("not running".to_string()),
        };
        let Some(why) = exited else {
            s.wake.wait_for(&mut st, POLL);
            continue;
        };
        st.child = None;
        let _ = std::fs::remove_file(s.opts.pid_file());
        if st.started.elapsed() >= STABLE_AFTER {
            backoff = BACKOFF_MIN;
        }
        tracing::warn!(reason = %why, retry_in = ?backoff, "etcd exited; restarting it");
        let until = Instant::now() + backoff;
        while !st.stopping && Instant::now() < until {
            s.wake.wait_until(&mut st, until);
        }
        if st.stopping {
            return;
        }
        backoff = (backoff * 2).min(BACKOFF_MAX);
        match spawn(&s.binary, &s.opts) {
            Ok(c) => {
                st.child = Some(Running::Child(c));
                st.started = Instant::now();
                st.restarts += 1;
            }
            Err(e) => tracing::error!(error = %e, "cannot restart etcd"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_follow_easegress_embedded_tuning() {
        let mut o = EtcdProcessOptions::new("m1", Path::new("/d"), Path::new("/l"));
        o.listen_client_urls = vec!["http://127.0.0.1:1".into()];
        o.advertise_client_urls = vec!["http://127.0.0.1:1".into()];
        o.listen_peer_urls = vec!["http://127.0.0.1:2".into()];
        o.initial_advertise_peer_urls = vec!["http://127.0.0.1:2".into()];
        o.cluster_name = "c".into();
        o.state = ClusterState::Existing;
        let a = o.args().join(" ");
        for want in [
            "--name m1",
            "--data-dir /d/etcd",
            "--initial-cluster m1=http://127.0.0.1:2",
            "--initial-cluster-token c",
            "--initial-cluster-state existing",
            "--auto-compaction-mode revision --auto-compaction-retention 10",
            "--quota-backend-bytes 8589934592",
            "--max-txn-ops 10240",
            "--max-request-bytes 10485760",
            "--snapshot-count 5000",
            "--logger zap --log-outputs /l/etcd_server.log",
        ] {
            assert!(a.contains(want), "{want:?} missing in {a}");
        }
        assert!(!a.contains("wal-dir"));
    }

    #[test]
    fn missing_binary_names_the_package() {
        let e = find_binary(Some(Path::new("/nonexistent/etcd"))).unwrap_err();
        assert!(e.to_string().contains("etcd-server"), "{e}");
    }
}
