//! Binary upgrade: on SIGUSR2 the running process starts the binary now at its own path
//! and hands it every listening socket, so that no connection is refused or cut while the
//! new binary takes over.
//!
//! 1. The old process binds `<home-dir>/upgrade.sock`, releases the embedded store (redb
//!    locks its file; API writes answer 503 meanwhile) and starts the binary at the path it
//!    was started from, with the same arguments, environment and working directory, plus
//!    [`ENV`] naming the socket.
//! 2. The new process receives the sockets ([`receive`]) before it binds anything, so every
//!    HTTPServer and the admin API take theirs instead of binding; it opens the store,
//!    starts every object and, once every HTTPServer runs, says ready ([`announce_ready`])
//!    and writes the pidfile.
//! 3. The old process then stops like a graceful stop — it stops accepting and drains its
//!    connections — but leaves the pidfile and, in a cluster, its etcd to the new process.
//!
//! When the new binary exits, or is not ready within [`READY_TIMEOUT`], the old process
//! stops it, reopens the store and keeps serving.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::Arc;
use std::time::{Duration, Instant};

use eg_handover::channel::{Peer, Rendezvous};
use eg_store::RedbStore;
use eg_supervisor::Supervisor;

pub use eg_handover::channel::ENV;

/// How long the new process has to say it is ready.
pub const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// File name of the hand-over socket inside `--home-dir`.
pub const SOCKET_FILE: &str = "upgrade.sock";
/// How often the new process checks whether its servers run.
const POLL: Duration = Duration::from_millis(50);

/// The program path the process was started from, made absolute (a bare name is looked up
/// in `PATH`). Symbolic links are not followed: an upgrade runs whatever file the path
/// names then, which is how a new binary is put in place.
pub fn program_path() -> Result<PathBuf, String> {
    let arg0 = std::env::args_os()
        .next()
        .ok_or("the program was started without argv[0]")?;
    let p = PathBuf::from(&arg0);
    if p.components().count() > 1 || p.is_absolute() {
        return std::path::absolute(&p).map_err(|e| format!("{}: {e}", p.display()));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(&p))
        .find(|candidate| candidate.is_file())
        .and_then(|c| std::path::absolute(c).ok())
        .ok_or_else(|| format!("{} not found in PATH", p.display()))
}

/// `--signal-upgrade`: sends SIGUSR2 to the process named by `<home>/easegress.pid`.
pub fn signal(home: &Path) -> Result<i32, String> {
    let file = home.join(crate::run::PID_FILE);
    let text = std::fs::read_to_string(&file)
        .map_err(|e| format!("cannot read pidfile {}: {e}", file.display()))?;
    let raw: i32 = text
        .trim()
        .parse()
        .map_err(|_| format!("pidfile {} holds no pid: {:?}", file.display(), text.trim()))?;
    let pid = rustix::process::Pid::from_raw(raw)
        .filter(|_| raw > 0)
        .ok_or_else(|| format!("pidfile {} holds no pid: {raw}", file.display()))?;
    rustix::process::kill_process(pid, rustix::process::Signal::USR2)
        .map_err(|e| format!("cannot signal process {raw}: {e}"))?;
    Ok(raw)
}

/// In a process started by an upgrade: connects to the old process and takes the listening
/// sockets it hands over, for the listeners to find. `None` in a process started otherwise.
pub fn receive() -> Result<Option<Peer>, String> {
    let Some(path) = std::env::var_os(ENV) else {
        return Ok(None);
    };
    let path = PathBuf::from(path);
    let peer = Peer::connect(&path).map_err(|e| {
        format!(
            "upgrade: cannot reach the old process at {}: {e}",
            path.display()
        )
    })?;
    let listeners = peer
        .recv_listeners()
        .map_err(|e| format!("upgrade: cannot take over the listening sockets: {e}"))?;
    tracing::info!(
        sockets = listeners.len(),
        "upgrade: listening sockets taken over from the old process"
    );
    eg_handover::sockets::inherit(listeners);
    Ok(Some(peer))
}

/// The stored HTTPServers that do not run (yet), with their state. The stored objects are
/// the reference: in a cluster the supervisor starts them only as the store's copy of etcd
/// fills, after the process started.
fn servers_not_running(sup: &Supervisor) -> Vec<String> {
    let stored = match sup.store().range(eg_store::keys::OBJECTS_PREFIX) {
        Ok(pairs) => pairs,
        Err(e) => return vec![format!("(the stored objects cannot be read: {e})")],
    };
    let running = sup.running();
    stored
        .iter()
        .filter_map(|(key, value)| {
            let spec: serde_json::Value = serde_json::from_slice(value).ok()?;
            if spec.get("kind").and_then(|k| k.as_str()) != Some("HTTPServer") {
                return None;
            }
            let name = key.strip_prefix(eg_store::keys::OBJECTS_PREFIX)?;
            let state = match running.get(name) {
                Some(r) => sup
                    .status_of(r)
                    .get("state")
                    .and_then(|s| s.as_str())
                    .unwrap_or("")
                    .to_string(),
                None => "not started".to_string(),
            };
            (state != "running").then(|| format!("{name} ({state})"))
        })
        .collect()
}

/// In a process started by an upgrade: waits until every HTTPServer runs, closes the
/// inherited sockets none of them took, and tells the old process it may stop.
pub async fn announce_ready(peer: Peer, sup: &Supervisor) -> Result<(), String> {
    let deadline = tokio::time::Instant::now() + READY_TIMEOUT;
    loop {
        let waiting = servers_not_running(sup);
        if waiting.is_empty() {
            break;
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(format!(
                "upgrade: servers not running: {}",
                waiting.join(", ")
            ));
        }
        tokio::time::sleep(POLL).await;
    }
    for addr in eg_handover::sockets::close_unclaimed() {
        tracing::warn!(%addr, "upgrade: no listener took this socket of the old process; closed");
    }
    tokio::task::spawn_blocking(move || peer.send_ready())
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("upgrade: cannot tell the old process: {e}"))?;
    tracing::info!("upgrade: ready; the old process stops");
    Ok(())
}

/// What an old process needs to start its successor.
#[derive(Clone)]
pub struct Upgrader {
    /// The binary to run.
    pub program: PathBuf,
    /// Its arguments (this process's, without argv[0]).
    pub args: Vec<OsString>,
    /// `--home-dir`, where the hand-over socket is made.
    pub home: PathBuf,
    /// The embedded store, released for the successor; `None` in a cluster.
    pub store: Option<Arc<RedbStore>>,
}

impl Upgrader {
    /// Starts the successor and hands it the listening sockets; `Ok` with its pid once it
    /// said it is ready (this process should then stop), `Err` with the reason when it
    /// failed (it was stopped, the store is reopened: this process keeps serving).
    pub async fn run(&self) -> Result<u32, String> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.run_blocking())
            .await
            .map_err(|e| e.to_string())?
    }

    fn run_blocking(&self) -> Result<u32, String> {
        let path = self.home.join(SOCKET_FILE);
        let rendezvous = Rendezvous::bind(&path)
            .map_err(|e| format!("cannot make the hand-over socket {}: {e}", path.display()))?;
        if let Some(store) = &self.store {
            store
                .release()
                .map_err(|e| format!("cannot release the store: {e}"))?;
        }
        let outcome = self.start_successor(&rendezvous);
        if outcome.is_err() {
            if let Some(store) = &self.store {
                if let Err(e) = store.reopen() {
                    // Nothing can be written without it; serving traffic goes on.
                    tracing::error!(error = %e, "upgrade: cannot reopen the store");
                }
            }
        }
        outcome
    }

    fn start_successor(&self, rendezvous: &Rendezvous) -> Result<u32, String> {
        let mut child = Command::new(&self.program)
            .args(&self.args)
            .env(ENV, rendezvous.path())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", self.program.display()))?;
        let pid = child.id();
        tracing::info!(pid, program = %self.program.display(), "upgrade: new process started");
        let deadline = Instant::now() + READY_TIMEOUT;
        let result = (|| {
            let mut gone = || exited(&mut child);
            let peer = rendezvous.accept(deadline, &mut gone)?;
            let listeners = eg_handover::sockets::live()
                .map_err(|e| format!("cannot list the listening sockets: {e}"))?;
            peer.send_listeners(&listeners)
                .map_err(|e| format!("cannot hand over the listening sockets: {e}"))?;
            tracing::info!(
                sockets = listeners.len(),
                "upgrade: listening sockets handed over; waiting for the new process"
            );
            peer.wait_ready(deadline, &mut gone)
        })();
        match result {
            Ok(()) => Ok(pid),
            Err(why) => {
                stop_child(&mut child);
                Err(why)
            }
        }
    }
}

/// Why `child` will not answer any more, if it exited.
fn exited(child: &mut Child) -> Option<String> {
    match child.try_wait() {
        Ok(Some(status)) => Some(format!("the new process exited ({status})")),
        Ok(None) => None,
        Err(e) => Some(format!("cannot watch the new process: {e}")),
    }
}

/// Kills and reaps a successor that failed.
fn stop_child(child: &mut Child) {
    if let Ok(None) = child.try_wait() {
        let _ = child.kill();
    }
    let _ = child.wait();
}
