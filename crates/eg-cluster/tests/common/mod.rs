//! Real etcd processes on loopback ephemeral ports for the integration tests.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use eg_cluster::etcd::{health, Client, ClientOptions};
use eg_cluster::process::find_binary;

/// The etcd binary, or `None` (with a skip line) when it is not installed. Under `CI` a
/// missing etcd fails the test instead.
pub fn etcd_binary(test: &str) -> Option<PathBuf> {
    match find_binary(None) {
        Ok(p) => Some(p),
        Err(e) if std::env::var_os("CI").is_some() => {
            panic!("{test}: etcd is required in CI (install the Debian package etcd-server): {e}")
        }
        Err(e) => {
            eprintln!("SKIP {test}: {e}");
            None
        }
    }
}

/// `n` free loopback ports (never 2379/2380: the kernel hands out ephemeral ones).
pub fn free_ports(n: usize) -> Vec<u16> {
    let ls: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0"))
        .collect();
    ls.iter().map(|l| l.local_addr().unwrap().port()).collect()
}

/// How many times a cluster start is tried, each on fresh ports.
const START_ATTEMPTS: usize = 3;
/// How long a start may take before it counts as failed.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// Log lines of each member shown when a start fails.
const LOG_TAIL_LINES: usize = 15;

pub struct Member {
    pub name: String,
    pub client_url: String,
    pub peer_url: String,
    child: Option<Child>,
}

/// A test etcd cluster in a temporary directory; every process is killed (by its pid) on drop.
pub struct Cluster {
    pub dir: tempfile::TempDir,
    binary: PathBuf,
    pub members: Vec<Member>,
    initial: String,
}

impl Cluster {
    /// Starts `n` members and waits until all are healthy. `None`: etcd not installed.
    ///
    /// Ports come from binding port 0 and letting go, so another process can take one before
    /// etcd binds it. A start that does not come up healthy is therefore torn down and tried
    /// again on fresh ports; the last failure panics with every member's log tail.
    pub async fn start(test: &str, n: usize) -> Option<Cluster> {
        let binary = etcd_binary(test)?;
        let mut failures = Vec::new();
        for attempt in 1..=START_ATTEMPTS {
            let mut c = Cluster::new(binary.clone(), n);
            let t = Instant::now();
            for i in 0..n {
                c.spawn(i);
            }
            match c.healthy_within(START_TIMEOUT).await {
                Ok(()) => {
                    eprintln!(
                        "{test}: {n}-member etcd healthy after {:?} (attempt {attempt})",
                        t.elapsed()
                    );
                    return Some(c);
                }
                Err(why) => {
                    let report = format!("attempt {attempt}: {why}\n{}", c.log_tails());
                    eprintln!("{test}: etcd did not start, {report}");
                    failures.push(report);
                }
            }
        }
        panic!(
            "{test}: etcd did not start in {START_ATTEMPTS} attempts:\n{}",
            failures.join("\n")
        );
    }

    fn new(binary: PathBuf, n: usize) -> Cluster {
        let ports = free_ports(2 * n);
        let members: Vec<Member> = (0..n)
            .map(|i| Member {
                name: format!("m{}", i + 1),
                client_url: format!("http://127.0.0.1:{}", ports[2 * i]),
                peer_url: format!("http://127.0.0.1:{}", ports[2 * i + 1]),
                child: None,
            })
            .collect();
        let initial = members
            .iter()
            .map(|m| format!("{}={}", m.name, m.peer_url))
            .collect::<Vec<_>>()
            .join(",");
        Cluster {
            dir: tempfile::tempdir().unwrap(),
            binary,
            members,
            initial,
        }
    }

    fn log_path(&self, i: usize) -> PathBuf {
        self.dir
            .path()
            .join(format!("{}.log", self.members[i].name))
    }

    /// The last lines of every member's log, for a failure message.
    pub fn log_tails(&self) -> String {
        let mut out = String::new();
        for (i, m) in self.members.iter().enumerate() {
            let log = std::fs::read_to_string(self.log_path(i)).unwrap_or_default();
            let lines: Vec<&str> = log.lines().collect();
            let from = lines.len().saturating_sub(LOG_TAIL_LINES);
            out.push_str(&format!("--- {} ({}) log tail:\n", m.name, m.client_url));
            for l in &lines[from..] {
                out.push_str(l);
                out.push('\n');
            }
        }
        out
    }

    fn spawn(&mut self, i: usize) {
        let m = &self.members[i];
        let data = self.dir.path().join(&m.name);
        let child = Command::new(&self.binary)
            .args([
                "--name",
                &m.name,
                "--data-dir",
                &data.display().to_string(),
                "--listen-client-urls",
                &m.client_url,
                "--advertise-client-urls",
                &m.client_url,
                "--listen-peer-urls",
                &m.peer_url,
                "--initial-advertise-peer-urls",
                &m.peer_url,
                "--initial-cluster",
                &self.initial,
                "--initial-cluster-token",
                "eg-test",
                "--initial-cluster-state",
                "new",
                "--heartbeat-interval",
                "250",
                "--election-timeout",
                "2500",
                "--logger",
                "zap",
                "--log-outputs",
                &self.log_path(i).display().to_string(),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn etcd");
        self.members[i].child = Some(child);
    }

    /// Waits until every member answers healthy; panics with the members' logs otherwise.
    pub async fn wait_healthy_all(&mut self, timeout: Duration) {
        if let Err(why) = self.healthy_within(timeout).await {
            panic!("{why}\n{}", self.log_tails());
        }
    }

    /// Every member healthy before `timeout`, or which one was not (and whether it exited).
    async fn healthy_within(&mut self, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        for i in 0..self.members.len() {
            while !health(&self.members[i].client_url, Duration::from_millis(500)).await {
                if let Some(child) = self.members[i].child.as_mut() {
                    if let Ok(Some(status)) = child.try_wait() {
                        self.members[i].child = None;
                        return Err(format!("etcd {} exited: {status}", self.members[i].name));
                    }
                }
                if Instant::now() >= deadline {
                    return Err(format!(
                        "etcd {} not healthy within {timeout:?}",
                        self.members[i].name
                    ));
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        Ok(())
    }

    pub fn client_urls(&self) -> Vec<String> {
        self.members.iter().map(|m| m.client_url.clone()).collect()
    }

    pub fn client(&self, timeout: Duration) -> Client {
        let mut o = ClientOptions::new(self.client_urls());
        o.request_timeout = timeout;
        Client::new(o).unwrap()
    }

    pub fn client_of(&self, i: usize, timeout: Duration) -> Client {
        let mut o = ClientOptions::new(vec![self.members[i].client_url.clone()]);
        o.request_timeout = timeout;
        Client::new(o).unwrap()
    }

    /// Kills member `i` (SIGKILL to the pid spawned here).
    pub fn kill(&mut self, i: usize) {
        if let Some(mut c) = self.members[i].child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts member `i` again on its data directory.
    pub fn restart(&mut self, i: usize) {
        assert!(self.members[i].child.is_none());
        self.spawn(i);
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for i in 0..self.members.len() {
            self.kill(i);
        }
    }
}

/// Runs a blocking store call off the async workers, as the API does.
pub async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

pub fn percentile(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i]
}
