//! Clusters of real server binaries on loopback: primaries that each run their own etcd,
//! and secondaries that join them. Every process is killed when the harness is dropped,
//! etcd children by the pid their member recorded.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::net::stable_port;
use crate::poll::{eventually, within};
use crate::server::{Server, START_TIMEOUT};

/// etcd timing for busy 2-core test machines: fewer spurious elections than etcd's
/// defaults (100 ms / 1 s).
const ETCD_TEST_ARGS: [&str; 2] = [
    "--etcd-arg=--heartbeat-interval=250",
    "--etcd-arg=--election-timeout=2500",
];

/// Whether an `etcd` binary is on `PATH`. When it is not, cluster tests print a skip line
/// and pass — except under `CI`, where a missing etcd is a failure.
pub fn etcd_available(test: &str) -> bool {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join("etcd").is_file()))
        .unwrap_or(false);
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "{test}: etcd is required in CI (install the Debian package etcd-server)"
        );
        eprintln!("SKIP {test}: no etcd on PATH (Debian package etcd-server)");
    }
    found
}

/// A primary's etcd URLs.
#[derive(Debug, Clone)]
pub struct EtcdPorts {
    /// `http://127.0.0.1:<client port>`.
    pub client_url: String,
    /// `http://127.0.0.1:<peer port>`.
    pub peer_url: String,
}

/// Primaries (`m1`, `m2`, …) of one cluster; see the module documentation.
pub struct Cluster {
    /// The members, in order; secondaries added by [`Cluster::add_secondary`] come after
    /// the primaries.
    pub members: Vec<Server>,
    /// The etcd URLs of each primary.
    pub etcd: Vec<EtcdPorts>,
    /// `--cluster-name`.
    pub name: String,
    bin: PathBuf,
}

impl Cluster {
    /// `n` primaries of cluster `name`, configured and not started.
    pub fn primaries(bin: impl Into<PathBuf>, name: &str, n: usize) -> Cluster {
        let bin = bin.into();
        let etcd: Vec<EtcdPorts> = (0..n)
            .map(|_| EtcdPorts {
                client_url: format!("http://127.0.0.1:{}", stable_port()),
                peer_url: format!("http://127.0.0.1:{}", stable_port()),
            })
            .collect();
        let initial = etcd
            .iter()
            .enumerate()
            .map(|(i, e)| format!("m{}={}", i + 1, e.peer_url))
            .collect::<Vec<_>>()
            .join(",");
        let members = etcd
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let mut s = Server::new(bin.clone(), &format!("m{}", i + 1));
                s.extra = vec![
                    "--cluster-name".into(),
                    name.into(),
                    "--cluster-role".into(),
                    "primary".into(),
                    "--cluster-request-timeout".into(),
                    "2s".into(),
                    "--listen-client-urls".into(),
                    e.client_url.clone(),
                    "--advertise-client-urls".into(),
                    e.client_url.clone(),
                    "--listen-peer-urls".into(),
                    e.peer_url.clone(),
                    "--initial-advertise-peer-urls".into(),
                    e.peer_url.clone(),
                    "--initial-cluster".into(),
                    initial.clone(),
                ];
                s.extra.extend(ETCD_TEST_ARGS.map(String::from));
                s
            })
            .collect();
        Cluster {
            members,
            etcd,
            name: name.to_string(),
            bin,
        }
    }

    /// Starts every member at once and waits until each answers `/healthz` (which it does
    /// once connected to etcd).
    pub fn start(&mut self) {
        for m in &mut self.members {
            m.spawn_only();
        }
        for m in &self.members {
            let healthy =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| m.wait_healthy()));
            if healthy.is_err() {
                panic!(
                    "{} did not become healthy; its log:\n{}\n{}",
                    m.name,
                    m.system_log(),
                    etcd_log_tail(m)
                );
            }
        }
    }

    /// The primaries' peer URLs, comma-separated.
    pub fn peer_urls(&self) -> String {
        self.etcd
            .iter()
            .map(|e| e.peer_url.clone())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// A secondary member `name` of this cluster, configured and not started.
    pub fn secondary(&self, name: &str) -> Server {
        let mut s = Server::new(self.bin.clone(), name);
        s.extra = vec![
            "--cluster-name".into(),
            self.name.clone(),
            "--cluster-role".into(),
            "secondary".into(),
            "--cluster-request-timeout".into(),
            "2s".into(),
            "--primary-listen-peer-urls".into(),
            self.peer_urls(),
        ];
        s
    }

    /// Starts a secondary called `name` and adds it to [`Cluster::members`]; returns its index.
    pub fn add_secondary(&mut self, name: &str) -> usize {
        let mut s = self.secondary(name);
        s.start();
        self.members.push(s);
        self.members.len() - 1
    }

    /// Waits until member `i` lists `n` members that are all alive; panics with the last
    /// listing and every member's warnings after [`START_TIMEOUT`].
    pub fn wait_members(&self, i: usize, n: usize) -> serde_json::Value {
        let mut last = String::new();
        let found = within(START_TIMEOUT, || {
            let a = self.members[i].api("GET", "/status/members", "");
            last = members_summary(&a);
            let v = a.json();
            let list = v.as_array()?;
            (list.len() == n && list.iter().all(|m| m["alive"] == serde_json::json!(true)))
                .then(|| v.clone())
        });
        found.unwrap_or_else(|| {
            panic!(
                "{} did not list {n} live members within {START_TIMEOUT:?}; its last answer: \
                 {last}\n{}",
                self.members[i].name,
                self.diagnosis()
            )
        })
    }

    /// Every member's warnings and errors (but the admin API's answers to the test's own
    /// polling), and its etcd's: what a failed wait prints.
    pub fn diagnosis(&self) -> String {
        let mut out = String::new();
        for m in &self.members {
            let log = m.system_log();
            let notable = last_matching(&log, |l| {
                (l.contains(" WARN ") || l.contains(" ERROR ")) && !l.contains("admin API error")
            });
            out.push_str(&format!(
                "{}: warnings and errors (last {DIAGNOSIS_LINES}):\n{notable}\n{}\n",
                m.name,
                etcd_log_tail(m)
            ));
        }
        out
    }
}

/// How many lines of each log a failed wait prints.
const DIAGNOSIS_LINES: usize = 20;

/// The last [`DIAGNOSIS_LINES`] lines of `log` that `keep` keeps, oldest first.
fn last_matching(log: &str, keep: impl Fn(&str) -> bool) -> String {
    let lines: Vec<&str> = log.lines().filter(|l| keep(l)).collect();
    lines[lines.len().saturating_sub(DIAGNOSIS_LINES)..].join("\n")
}

/// `/status/members` in a line: each member's name, `alive` and `heartbeatAge`, or the
/// answer itself when it is not a listing.
fn members_summary(a: &crate::Answer) -> String {
    match a.json().as_array() {
        Some(list) => list
            .iter()
            .map(|m| {
                format!(
                    "{} alive={} heartbeatAge={}",
                    m["options"]["Name"], m["alive"], m["heartbeatAge"]
                )
            })
            .collect::<Vec<_>>()
            .join("; "),
        None => format!("{} {}", a.status, a.body),
    }
}

/// The warnings and errors in the etcd log of member `m` (a primary), if it has one.
fn etcd_log_tail(m: &Server) -> String {
    let log = std::fs::read_to_string(m.dir.path().join("log").join("etcd_server.log"))
        .unwrap_or_default();
    if log.is_empty() {
        return String::new();
    }
    let notable = last_matching(&log, |l| {
        l.contains(r#""level":"warn""#) || l.contains(r#""level":"error""#)
    });
    format!("its etcd's warnings and errors (last {DIAGNOSIS_LINES}):\n{notable}")
}

impl Server {
    /// Polls `/healthz` until it answers 200.
    pub fn wait_healthy(&self) {
        let addr = self.api_addr();
        let auth = self.auth.clone();
        eventually(START_TIMEOUT, || {
            let h: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", a.as_str())).collect();
            crate::raw::http(&addr, "GET", "/apis/v2/healthz", &h, "")
                .ok()
                .filter(|a| a.status == 200)
                .map(|_| ())
        });
    }

    /// The pid of the etcd this member runs (recorded in `<data-dir>/etcd.pid`).
    pub fn etcd_pid(&self) -> Option<u32> {
        std::fs::read_to_string(self.dir.path().join("data").join("etcd.pid"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// Sends `signal` (`STOP`, `CONT`, `KILL`, …) to this member's etcd, if one runs.
    pub fn signal_etcd(&self, signal: &str) {
        if let Some(pid) = self.etcd_pid().filter(|p| is_etcd(*p)) {
            let _ = Command::new("kill")
                .arg(format!("-{signal}"))
                .arg(pid.to_string())
                .status();
        }
    }

    /// Waits at most `timeout` for the process to exit by itself; its exit code, or `None`
    /// if it still runs (or was killed by a signal).
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let child = self.child.as_mut()?;
            if let Ok(Some(st)) = child.try_wait() {
                self.child = None;
                return st.code();
            }
            if std::time::Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills this member's etcd (if any) for good: the member's own supervision is gone
    /// too when the member was killed first.
    pub(crate) fn kill_etcd(&self) {
        self.signal_etcd("CONT");
        self.signal_etcd("KILL");
    }
}

/// Whether `pid` runs an etcd binary (so a recycled pid is never signalled).
fn is_etcd(pid: u32) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .ok()
        .and_then(|c| {
            c.split(|b| *b == 0)
                .next()
                .map(|argv0| argv0.ends_with(b"etcd"))
        })
        .unwrap_or(false)
}
