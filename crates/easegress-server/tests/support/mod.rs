//! A small DSL for driving the real `easegress-server` binary in tests: start it on
//! ephemeral loopback ports with private directories, call the admin API, stop or kill it.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a server may take to answer `/healthz`.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A TCP port free on 127.0.0.1 right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// One HTTP/1.1 request with `Connection: close`.
pub fn http(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> std::io::Result<Answer> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(15)))?;
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, rest) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| {
            l.split_once(':')
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        })
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let body = if chunked {
        dechunk(rest)
    } else {
        rest.to_string()
    };
    Ok(Answer {
        status,
        headers,
        body,
    })
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// Polls `f` until it returns `Some`, for at most `timeout`.
pub fn eventually<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "condition not met within {timeout:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A running `easegress-server` process with its own directories.
pub struct Server {
    pub dir: tempfile::TempDir,
    pub api_port: u16,
    pub name: String,
    pub extra: Vec<String>,
    pub env: Vec<(String, String)>,
    pub auth: Option<String>,
    /// Soft and hard `RLIMIT_NOFILE` of the process, when set.
    pub nofile: Option<u64>,
    child: Option<Child>,
}

impl Server {
    /// A server that is not started yet.
    pub fn new(name: &str) -> Server {
        Server {
            dir: tempfile::tempdir().expect("tempdir"),
            api_port: free_port(),
            name: name.to_string(),
            extra: Vec::new(),
            env: Vec::new(),
            auth: None,
            nofile: None,
            child: None,
        }
    }

    /// Starts a server with default flags and waits until it is healthy.
    pub fn start_new(name: &str) -> Server {
        let mut s = Server::new(name);
        s.start();
        s
    }

    pub fn api_addr(&self) -> String {
        format!("127.0.0.1:{}", self.api_port)
    }

    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn command(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_easegress-server"));
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
        if let Some(n) = self.nofile {
            use std::os::unix::process::CommandExt;
            let lim = libc::rlimit {
                rlim_cur: n as libc::rlim_t,
                rlim_max: n as libc::rlim_t,
            };
            // SAFETY: the closure runs in the forked child before exec. It only calls
            // setrlimit(2), which is async-signal-safe, on a value copied into the closure; it
            // allocates nothing and touches no lock.
            unsafe {
                c.pre_exec(move || {
                    if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) == 0 {
                        Ok(())
                    } else {
                        Err(std::io::Error::last_os_error())
                    }
                });
            }
        }
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

    /// Starts the process without waiting for it.
    pub fn spawn_only(&mut self) {
        std::fs::create_dir_all(self.home()).expect("home dir");
        let child = self.command().spawn().expect("spawn easegress-server");
        self.child = Some(child);
    }

    /// Starts the process and waits for `/healthz`.
    pub fn start(&mut self) {
        self.spawn_only();
        let addr = self.api_addr();
        let auth = self.auth.clone();
        eventually(START_TIMEOUT, || {
            let h: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", a.as_str())).collect();
            http(&addr, "GET", "/apis/v2/healthz", &h, "")
                .ok()
                .filter(|a| a.status == 200)
                .map(|_| ())
        });
    }

    /// Runs the binary with `args` to completion (for flag checks).
    pub fn run_once(args: &[&str]) -> std::process::Output {
        Command::new(env!("CARGO_BIN_EXE_easegress-server"))
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run")
    }

    /// Sends SIGTERM and waits for the exit code.
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

    /// Kills the process with SIGKILL (no clean shutdown).
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Calls the admin API under `/apis/v2`.
    pub fn api(&self, method: &str, path: &str, body: &str) -> Answer {
        self.api_with(method, path, &[], body)
    }

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
        http(
            &self.api_addr(),
            method,
            &format!("/apis/v2{path}"),
            &h,
            body,
        )
        .expect("admin API call")
    }

    pub fn log_dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}
