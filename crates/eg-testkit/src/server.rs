//! The real server binary under test: started on an ephemeral loopback port with private
//! directories, driven through its admin API, stopped or killed.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::net::free_port;
use crate::poll::eventually;
use crate::raw::{http, Answer};

/// How long a server may take to answer `/healthz`.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);

/// The admin API prefix.
const API: &str = "/apis/v2";

/// A server process with its own directories (removed when dropped; the process is killed).
///
/// Callers pass the binary, e.g. `env!("CARGO_BIN_EXE_easegress-server")`.
pub struct Server {
    /// The binary.
    pub bin: PathBuf,
    /// Home, data and log directories live below it.
    pub dir: tempfile::TempDir,
    /// The admin API port on 127.0.0.1.
    pub api_port: u16,
    /// `--name`.
    pub name: String,
    /// More flags.
    pub extra: Vec<String>,
    /// Environment variables set for the process (`EASEGRESS_*` of the test's own
    /// environment are removed).
    pub env: Vec<(String, String)>,
    /// `Authorization` value sent with every API call and the readiness poll.
    pub auth: Option<String>,
    /// Soft and hard `RLIMIT_NOFILE` of the process, when set.
    pub nofile: Option<u64>,
    pub(crate) child: Option<Child>,
    /// The process that replaced the started one (a binary upgrade), once seen.
    successor: Option<u32>,
}

impl Server {
    /// A server of `bin` that is not started yet.
    pub fn new(bin: impl Into<PathBuf>, name: &str) -> Server {
        Server {
            bin: bin.into(),
            dir: tempfile::tempdir().expect("tempdir"),
            api_port: free_port(),
            name: name.to_string(),
            extra: Vec::new(),
            env: Vec::new(),
            auth: None,
            nofile: None,
            child: None,
            successor: None,
        }
    }

    /// Starts a server with default flags and waits until it is healthy.
    pub fn start_new(bin: impl Into<PathBuf>, name: &str) -> Server {
        let mut s = Server::new(bin, name);
        s.start();
        s
    }

    /// Runs `bin` with `args` to completion (for flag checks).
    pub fn run_once(bin: impl AsRef<Path>, args: &[&str]) -> std::process::Output {
        Command::new(bin.as_ref())
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run")
    }

    /// `127.0.0.1:<api_port>`.
    pub fn api_addr(&self) -> String {
        format!("127.0.0.1:{}", self.api_port)
    }

    /// `--home-dir`.
    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    /// A path below the server's private directory.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// The server's private directory.
    pub fn log_dir(&self) -> &Path {
        self.dir.path()
    }

    /// Serves the admin API over TLS with this certificate and key (written to `api.crt`
    /// and `api.key`).
    pub fn use_tls(&mut self, cert_pem: &str, key_pem: &str) {
        let (cert_file, key_file) = (self.path("api.crt"), self.path("api.key"));
        std::fs::write(&cert_file, cert_pem).expect("write the certificate");
        std::fs::write(&key_file, key_pem).expect("write the key");
        self.extra.extend([
            "--tls".to_string(),
            "--cert-file".to_string(),
            cert_file.display().to_string(),
            "--key-file".to_string(),
            key_file.display().to_string(),
        ]);
    }

    fn command(&self) -> Command {
        // The descriptor limit is set by the shell that then becomes the server (same pid).
        let mut c = match self.nofile {
            None => Command::new(&self.bin),
            Some(n) => {
                let mut c = Command::new("/bin/sh");
                c.arg("-c")
                    .arg(format!("ulimit -n {n} && exec \"$0\" \"$@\""))
                    .arg(&self.bin);
                c
            }
        };
        c.arg("--name").arg(&self.name);
        c.arg("--api-addr").arg(self.api_addr());
        c.arg("--home-dir").arg(self.home());
        c.arg("--data-dir").arg(self.dir.path().join("data"));
        c.arg("--log-dir").arg(self.dir.path().join("log"));
        c.args(&self.extra);
        for (k, _) in std::env::vars() {
            if k.starts_with("EASEGRESS_") {
                c.env_remove(k);
            }
        }
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        c
    }

    /// The process id, while running.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The system log (`<log-dir>/stdout.log`), empty when absent.
    pub fn system_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log").join("stdout.log")).unwrap_or_default()
    }

    /// Runs the server out of file descriptors through connections to `addr` (its limit is
    /// `self.nofile`) and checks that accepting backs off: the failure is logged, but fewer
    /// than 100 lines and 50 clock ticks of CPU go to it in 2 s (a spinning loop burns about
    /// 200). Then frees the descriptors and waits until `GET path` on `addr` answers 200.
    pub fn assert_accept_backs_off(&self, addr: &str, path: &str) {
        let pid = self.pid().expect("the server is running");
        let nofile = self
            .nofile
            .expect("a server started with a low nofile limit");
        let conns = crate::proc::exhaust_fds(pid, addr, nofile);
        let cpu = crate::proc::cpu_ticks_during(pid, Duration::from_secs(2));
        let log = self.system_log();
        let lines = log.lines().filter(|l| l.contains("accept failed")).count();
        assert!(lines >= 1, "the failure is reported:\n{log}");
        assert!(
            lines < 100,
            "{lines} lines about accept failures in about 2 s"
        );
        assert!(cpu < 50, "{cpu} clock ticks of CPU in 2 s");
        drop(conns);
        eventually(Duration::from_secs(15), || {
            http(addr, "GET", path, &[], "")
                .ok()
                .filter(|a| a.status == 200)
        });
    }

    /// Starts the process without waiting for it.
    pub fn spawn_only(&mut self) {
        std::fs::create_dir_all(self.home()).expect("home dir");
        let child = self.command().spawn().expect("spawn the server");
        self.child = Some(child);
    }

    /// Starts the process and waits for `/healthz`.
    pub fn start(&mut self) {
        self.spawn_only();
        self.wait_healthy();
    }

    /// Sends SIGTERM and waits for the exit code (`None` when killed after 30 s).
    pub fn stop(&mut self) -> Option<i32> {
        let mut child = self.child.take()?;
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(st)) = child.try_wait() {
                return st.code();
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the process with SIGKILL (no clean shutdown), and the process that replaced it
    /// in a binary upgrade.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(pid) = self.successor.take() {
            let _ = Command::new("kill")
                .arg("-KILL")
                .arg(pid.to_string())
                .status();
        }
    }

    /// The pid in `<home>/easegress.pid`, if it holds one.
    pub fn pidfile_pid(&self) -> Option<u32> {
        std::fs::read_to_string(self.home().join("easegress.pid"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// The pid of the process serving now: the started one, or the one that replaced it.
    pub fn serving_pid(&self) -> Option<u32> {
        self.successor.or_else(|| self.pid())
    }

    /// The exit code of the started process once it exited (`Some(None)` when killed by a
    /// signal), `None` while it runs.
    pub fn exit_status(&mut self) -> Option<Option<i32>> {
        let child = self.child.as_mut()?;
        match child.try_wait() {
            Ok(Some(st)) => Some(st.code()),
            _ => None,
        }
    }

    /// After a binary upgrade was asked for: waits (at most `timeout`) until the pidfile
    /// names a process other than `previous`, which must have exited by then if it is the
    /// started one; returns the new pid, which [`Server::kill9`] and drop then also stop.
    pub fn wait_for_successor(&mut self, previous: u32, timeout: Duration) -> u32 {
        let deadline = Instant::now() + timeout;
        let mut new = None;
        loop {
            new = new.or_else(|| self.pidfile_pid().filter(|p| *p != previous));
            let old_gone = self.pid() != Some(previous) || self.exit_status().is_some();
            if let (Some(new), true) = (new, old_gone) {
                if self.pid() == Some(previous) {
                    self.child = None;
                }
                self.successor = Some(new);
                return new;
            }
            assert!(
                Instant::now() < deadline,
                "no successor of {previous} within {timeout:?} (pidfile: {new:?}); system log:\n{}",
                self.system_log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends `signal` (a `kill` name such as `TERM` or `USR2`) to the serving process.
    pub fn signal(&self, signal: &str) {
        if let Some(pid) = self.serving_pid() {
            let _ = Command::new("kill")
                .arg(format!("-{signal}"))
                .arg(pid.to_string())
                .status();
        }
    }

    /// Calls the admin API under `/apis/v2`.
    pub fn api(&self, method: &str, path: &str, body: &str) -> Answer {
        self.api_with(method, path, &[], body)
    }

    /// Creates the object of `yaml` through the admin API; panics unless it answers 201.
    pub fn create(&self, yaml: &str) {
        let a = self.api("POST", "/objects", yaml);
        assert_eq!(a.status, 201, "create on {}: {}\n{yaml}", self.name, a.body);
    }

    /// Creates HTTPServer `name` on a free loopback port with `rules` (the YAML list under
    /// `rules:`, e.g. `"- paths:\n  - pathPrefix: /\n    backend: pl\n"`) and waits until it
    /// accepts connections. Returns its `host:port`.
    pub fn gateway(&self, name: &str, rules: &str) -> String {
        self.gateway_on(name, free_port(), rules)
    }

    /// [`Server::gateway`] on a port chosen beforehand (when a spec created earlier must
    /// name it).
    pub fn gateway_on(&self, name: &str, port: u16, rules: &str) -> String {
        self.create(&format!(
            "name: {name}\nkind: HTTPServer\nport: {port}\naddress: 127.0.0.1\nrules:\n{rules}"
        ));
        let addr = format!("127.0.0.1:{port}");
        eventually(START_TIMEOUT, || std::net::TcpStream::connect(&addr).ok());
        addr
    }

    /// Calls the admin API under `/apis/v2` with more header fields.
    pub fn api_with(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Answer {
        let mut h: Vec<(&str, &str)> = headers.to_vec();
        if let Some(a) = &self.auth {
            h.push(("Authorization", a.as_str()));
        }
        http(&self.api_addr(), method, &format!("{API}{path}"), &h, body).expect("admin API call")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
        // A cluster member's etcd runs in its own process group and outlives the member.
        self.kill_etcd();
    }
}
