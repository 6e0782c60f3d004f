//! The access log: one line per request in the server's `accessLogFormat`.
//!
//! Lines are written the way NGINX's `access_log … buffer=64k flush=1s` does: the request
//! that ends formats its line into a buffer of its worker thread's shard (an uncontended
//! lock, no wake-up of another thread), a full buffer is written with one `write` by the
//! request that filled it, and a flusher thread writes what waits every second, on
//! rotation and at stop. No line is dropped; memory is bounded by the buffers
//! (`SHARDS` × `FLUSH_AT` per destination). The destination is
//! `<log-dir>/filter_http_access.log` (opened for appending, so whole buffers never
//! interleave), or stdout when there is no log directory. Lines of different worker
//! threads reach the file in batches, so they are ordered per thread, not globally.

use std::collections::HashMap;
use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use eg_protocols::Tag;
use eg_spec::{GoDuration, SpecError};
use http::{HeaderMap, Method, Version};
use parking_lot::Mutex;

/// The access-log file name inside the log directory.
pub const ACCESS_LOG_FILE: &str = "filter_http_access.log";
/// Longest URI written; longer ones are cut and end with `...`.
const MAX_URI_LEN: usize = 512;

/// A variable of the format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Var {
    Time,
    RemoteAddr,
    RealIp,
    Method,
    Uri,
    Proto,
    StatusCode,
    Duration,
    ReqSize,
    RespSize,
    ReqHeaders,
    RespHeaders,
    Tags,
}

impl Var {
    fn parse(name: &str) -> Option<Var> {
        Some(match name {
            "Time" => Var::Time,
            "RemoteAddr" => Var::RemoteAddr,
            "RealIP" => Var::RealIp,
            "Method" => Var::Method,
            "URI" => Var::Uri,
            "Proto" => Var::Proto,
            "StatusCode" => Var::StatusCode,
            "Duration" => Var::Duration,
            "ReqSize" => Var::ReqSize,
            "RespSize" => Var::RespSize,
            "ReqHeaders" => Var::ReqHeaders,
            "RespHeaders" => Var::RespHeaders,
            "Tags" => Var::Tags,
            _ => return None,
        })
    }
}

#[derive(Debug)]
enum Part {
    Lit(String),
    Var(Var),
}

/// A compiled `accessLogFormat`.
#[derive(Debug)]
pub(crate) struct Format {
    parts: Vec<Part>,
    /// The format uses `{{ReqHeaders}}`.
    pub wants_req_headers: bool,
    /// The format uses `{{RespHeaders}}`.
    pub wants_resp_headers: bool,
}

impl Format {
    /// Compiles a format (empty = the default); unknown variables are errors.
    pub fn compile(format: &str) -> Result<Format, SpecError> {
        let format = if format.is_empty() {
            super::spec::DEFAULT_ACCESS_LOG_FORMAT
        } else {
            format
        };
        let mut parts = Vec::new();
        let mut rest = format;
        while let Some(open) = rest.find("{{") {
            let after = &rest[open + 2..];
            let Some(close) = after.find("}}") else { break };
            let name = after[..close].trim();
            let var = Var::parse(name).ok_or_else(|| {
                SpecError::new(
                    "accessLogFormat",
                    format!("unknown variable {{{{{name}}}}} (known: Time, RemoteAddr, RealIP, Method, URI, Proto, StatusCode, Duration, ReqSize, RespSize, ReqHeaders, RespHeaders, Tags)"),
                )
            })?;
            if open > 0 {
                parts.push(Part::Lit(rest[..open].to_string()));
            }
            parts.push(Part::Var(var));
            rest = &after[close + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Lit(rest.to_string()));
        }
        let uses = |v: Var| parts.iter().any(|p| matches!(p, Part::Var(x) if *x == v));
        Ok(Format {
            wants_req_headers: uses(Var::ReqHeaders),
            wants_resp_headers: uses(Var::RespHeaders),
            parts,
        })
    }

    /// Renders one line (without the newline).
    pub fn render(&self, r: &Record, out: &mut String) {
        use std::fmt::Write as _;
        for p in &self.parts {
            match p {
                Part::Lit(s) => out.push_str(s),
                Part::Var(v) => {
                    let _ = match v {
                        Var::Time => {
                            write_time(out, r.time);
                            Ok(())
                        }
                        Var::RemoteAddr => match r.remote_addr {
                            SocketAddr::V4(a) => {
                                push_ip(out, IpAddr::V4(*a.ip()));
                                out.push(':');
                                push_int(out, u64::from(a.port()));
                                Ok(())
                            }
                            SocketAddr::V6(a) => write!(out, "{a}"),
                        },
                        Var::RealIp => {
                            push_ip(out, r.real_ip);
                            Ok(())
                        }
                        Var::Method => {
                            out.push_str(r.method.as_str());
                            Ok(())
                        }
                        Var::Uri => {
                            if r.uri.len() > MAX_URI_LEN {
                                let mut cut = MAX_URI_LEN;
                                while !r.uri.is_char_boundary(cut) {
                                    cut -= 1;
                                }
                                out.push_str(&r.uri[..cut]);
                                out.push_str("...");
                            } else {
                                out.push_str(&r.uri);
                            }
                            Ok(())
                        }
                        Var::Proto => {
                            out.push_str(proto(r.version));
                            Ok(())
                        }
                        Var::StatusCode => {
                            push_int(out, u64::from(r.status));
                            Ok(())
                        }
                        Var::Duration => write!(out, "{}", GoDuration(r.duration)),
                        Var::ReqSize => {
                            push_int(out, r.req_size);
                            Ok(())
                        }
                        Var::RespSize => {
                            push_int(out, r.resp_size);
                            Ok(())
                        }
                        Var::ReqHeaders => write_headers(out, r.req_headers.as_ref()),
                        Var::RespHeaders => write_headers(out, r.resp_headers.as_ref()),
                        Var::Tags => {
                            for (i, t) in r.tags.iter().enumerate() {
                                if i > 0 {
                                    out.push_str(" | ");
                                }
                                let _ = write!(out, "{t}");
                            }
                            Ok(())
                        }
                    };
                }
            }
        }
    }
}

/// Writes `t` as local time, `2006-01-02T15:04:05.000-07:00`. The part down to the second
/// and the offset are computed once a second per thread (the time zone lookup is the
/// costly part); the milliseconds every time.
fn write_time(out: &mut String, t: SystemTime) {
    use std::cell::RefCell;
    use std::fmt::Write as _;
    thread_local! {
        /// (Unix second, `2006-01-02T15:04:05`, `-07:00`).
        static CACHE: RefCell<(u64, String, String)> = const {
            RefCell::new((u64::MAX, String::new(), String::new()))
        };
    }
    let since = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.0 != secs {
            let local: chrono::DateTime<chrono::Local> =
                (SystemTime::UNIX_EPOCH + Duration::from_secs(secs)).into();
            c.1.clear();
            let _ = write!(c.1, "{}", local.format("%Y-%m-%dT%H:%M:%S"));
            c.2.clear();
            let _ = write!(c.2, "{}", local.format("%:z"));
            c.0 = secs;
        }
        out.push_str(&c.1);
        let _ = write!(out, ".{:03}", since.subsec_millis());
        out.push_str(&c.2);
    });
}

/// Appends `n` in decimal (the formatting machinery costs more than the digits).
fn push_int(out: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in &digits[i..] {
        out.push(char::from(d));
    }
}

/// Appends an address as `Display` writes it; IPv4 without the formatting machinery.
fn push_ip(out: &mut String, ip: IpAddr) {
    use std::fmt::Write as _;
    match ip {
        IpAddr::V4(v4) => {
            for (i, o) in v4.octets().iter().enumerate() {
                if i > 0 {
                    out.push('.');
                }
                push_int(out, u64::from(*o));
            }
        }
        IpAddr::V6(v6) => {
            let _ = write!(out, "{v6}");
        }
    }
}

fn proto(v: Version) -> &'static str {
    match v {
        Version::HTTP_09 => "HTTP/0.9",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_2 => "HTTP/2.0",
        Version::HTTP_3 => "HTTP/3.0",
        _ => "HTTP/1.1",
    }
}

fn write_headers(out: &mut String, h: Option<&HeaderMap>) -> std::fmt::Result {
    use std::fmt::Write as _;
    let Some(h) = h else { return Ok(()) };
    for (i, k) in h.keys().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let vals: Vec<&str> = h
            .get_all(k)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        write!(out, "{}: [{}]", k, vals.join(" "))?;
    }
    Ok(())
}

/// What one request leaves for its log line.
#[derive(Debug)]
pub(crate) struct Record {
    pub time: SystemTime,
    pub remote_addr: SocketAddr,
    pub real_ip: IpAddr,
    pub method: Method,
    pub uri: String,
    pub version: Version,
    pub status: u16,
    pub duration: Duration,
    pub req_size: u64,
    pub resp_size: u64,
    pub req_headers: Option<HeaderMap>,
    pub resp_headers: Option<HeaderMap>,
    pub tags: Vec<Tag>,
}

/// Shards of line buffers per destination (worker threads map onto them).
const SHARDS: usize = 16;
/// A shard's buffer is written out when it holds this much.
const FLUSH_AT: usize = 64 * 1024;
/// Lines wait at most this long before the flusher writes them.
pub const FLUSH_INTERVAL: Duration = Duration::from_secs(1);

/// One destination: its file (or stdout) and the shards of lines waiting for it.
struct Sink {
    dir: Option<PathBuf>,
    out: Mutex<Output>,
    shards: Box<[Mutex<String>]>,
}

struct Output {
    w: Box<dyn Write + Send>,
    /// The [`REOPEN`] generation the file was opened at.
    opened_at: u64,
}

impl Sink {
    fn new(dir: Option<PathBuf>) -> Sink {
        Sink {
            out: Mutex::new(Output {
                w: open(&dir),
                opened_at: REOPEN.load(Ordering::Acquire),
            }),
            dir,
            shards: (0..SHARDS).map(|_| Mutex::new(String::new())).collect(),
        }
    }

    /// Writes `lines` (whole lines), reopening the file first when a rotation asked for it.
    fn write(&self, lines: &str) {
        let mut out = self.out.lock();
        let wanted = REOPEN.load(Ordering::Acquire);
        if wanted != out.opened_at {
            let _ = out.w.flush();
            out.w = open(&self.dir);
            out.opened_at = wanted;
        }
        if out.w.write_all(lines.as_bytes()).is_err() {
            out.w = open(&self.dir);
            let _ = out.w.write_all(lines.as_bytes());
        }
        let _ = out.w.flush();
    }

    /// Writes every waiting line.
    fn flush(&self) {
        for shard in self.shards.iter() {
            let lines = std::mem::take(&mut *shard.lock());
            if !lines.is_empty() {
                self.write(&lines);
            }
        }
        // A rotation with nothing waiting still reopens, so the old file is let go.
        if REOPEN.load(Ordering::Acquire) != self.out.lock().opened_at {
            self.write("");
        }
    }
}

/// The shard of the calling thread.
fn shard_index() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static SHARD: usize = NEXT.fetch_add(1, Ordering::Relaxed) % SHARDS;
    }
    SHARD.with(|s| *s)
}

/// Where a server's lines go.
#[derive(Clone)]
pub(crate) struct AccessLog {
    format: Arc<Format>,
    sink: Arc<Sink>,
}

impl std::fmt::Debug for AccessLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessLog")
            .field("format", &self.format)
            .field("dir", &self.sink.dir)
            .finish()
    }
}

impl AccessLog {
    /// A log with `format` written to `dir/filter_http_access.log` (stdout when `dir` is
    /// `None`). Servers logging to the same destination share its buffers.
    pub fn new(format: Format, dir: Option<PathBuf>) -> AccessLog {
        AccessLog {
            format: Arc::new(format),
            sink: sink(dir),
        }
    }

    /// The compiled format.
    pub fn format(&self) -> &Format {
        &self.format
    }

    /// Formats the line of `record` into this thread's buffer; writes the buffer when full.
    pub fn log(&self, record: Record) {
        let shard = &self.sink.shards[shard_index()];
        let mut buf = shard.lock();
        if buf.capacity() == 0 {
            buf.reserve(FLUSH_AT + 1024);
        }
        self.format.render(&record, &mut buf);
        buf.push('\n');
        if buf.len() >= FLUSH_AT {
            let full = std::mem::replace(&mut *buf, String::with_capacity(FLUSH_AT + 1024));
            drop(buf);
            self.sink.write(&full);
        }
    }
}

/// Every destination in use, for the flusher.
fn sinks() -> &'static Mutex<HashMap<Option<PathBuf>, Arc<Sink>>> {
    static SINKS: OnceLock<Mutex<HashMap<Option<PathBuf>, Arc<Sink>>>> = OnceLock::new();
    SINKS.get_or_init(Default::default)
}

fn sink(dir: Option<PathBuf>) -> Arc<Sink> {
    static FLUSHER: OnceLock<()> = OnceLock::new();
    FLUSHER.get_or_init(|| {
        let spawned = std::thread::Builder::new()
            .name("access-log".into())
            .spawn(|| loop {
                std::thread::sleep(FLUSH_INTERVAL);
                flush_access_logs();
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start the access log flusher");
        }
    });
    sinks()
        .lock()
        .entry(dir.clone())
        .or_insert_with(|| Arc::new(Sink::new(dir)))
        .clone()
}

/// Writes every access-log line still waiting in a buffer (the flusher does this every
/// [`FLUSH_INTERVAL`]; a stopping server does it last).
pub fn flush_access_logs() {
    let all: Vec<Arc<Sink>> = sinks().lock().values().cloned().collect();
    for s in all {
        s.flush();
    }
}

fn open(dir: &Option<PathBuf>) -> Box<dyn Write + Send> {
    if let Some(d) = dir {
        let path = d.join(ACCESS_LOG_FILE);
        let file = std::fs::create_dir_all(d).and_then(|_| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
        });
        match file {
            Ok(f) => return Box::new(f),
            Err(e) => {
                tracing::error!(path = %path.display(), error = %e, "cannot open the access log; writing to stdout")
            }
        }
    }
    Box::new(std::io::stdout())
}

/// Bumped by [`reopen_access_logs`]; destinations reopen their file when it changed.
static REOPEN: AtomicU64 = AtomicU64::new(0);

/// Makes every access log close and reopen its file (for log rotation, e.g. on SIGHUP):
/// what waits is written to the new file, at the latest within [`FLUSH_INTERVAL`].
pub fn reopen_access_logs() {
    REOPEN.fetch_add(1, Ordering::AcqRel);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_variables() {
        let f = Format::compile("{{Method}} {{URI}} {{Proto}} {{StatusCode}} {{Duration}} rx:{{ReqSize}} tx:{{RespSize}} [{{Tags}}] {{ReqHeaders}}").unwrap();
        let mut h = HeaderMap::new();
        h.insert("x-a", "1".parse().unwrap());
        let r = Record {
            time: SystemTime::now(),
            remote_addr: "127.0.0.1:5000".parse().unwrap(),
            real_ip: "127.0.0.1".parse().unwrap(),
            method: Method::POST,
            uri: "/a?b=1".into(),
            version: Version::HTTP_11,
            status: 201,
            duration: Duration::from_millis(3),
            req_size: 10,
            resp_size: 20,
            req_headers: Some(h),
            resp_headers: None,
            tags: vec!["a".into(), "b".into()],
        };
        let mut s = String::new();
        f.render(&r, &mut s);
        assert_eq!(
            s,
            "POST /a?b=1 HTTP/1.1 201 3ms rx:10 tx:20 [a | b] x-a: [1]"
        );
    }

    #[test]
    fn time_is_local_with_milliseconds_and_offset() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_millis(1_796_380_350_042);
        let want: chrono::DateTime<chrono::Local> = t.into();
        let want = want.format("%Y-%m-%dT%H:%M:%S%.3f%:z").to_string();
        let mut s = String::new();
        write_time(&mut s, t);
        assert_eq!(s, want);
        // Again from the cache, in another millisecond of the same second.
        s.clear();
        write_time(&mut s, t + Duration::from_millis(900));
        assert!(
            s.ends_with(&want[want.len() - 6..]) && s.contains(".942"),
            "{s}"
        );
    }

    #[test]
    fn lines_wait_for_the_flush_and_none_is_lost() {
        let dir = tempfile::tempdir().unwrap();
        let log = AccessLog::new(
            Format::compile("{{URI}}").unwrap(),
            Some(dir.path().to_path_buf()),
        );
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let log = log.clone();
                std::thread::spawn(move || {
                    for i in 0..5000 {
                        log.log(record(&format!("/t{t}/{i}")));
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        flush_access_logs();
        let text = std::fs::read_to_string(dir.path().join(ACCESS_LOG_FILE)).unwrap();
        let lines: std::collections::HashSet<&str> = text.lines().collect();
        assert_eq!(text.lines().count(), 20_000);
        assert_eq!(lines.len(), 20_000, "every line once");
        assert!(lines.contains("/t3/4999"));
    }

    fn record(uri: &str) -> Record {
        Record {
            time: SystemTime::now(),
            remote_addr: "127.0.0.1:5000".parse().unwrap(),
            real_ip: "127.0.0.1".parse().unwrap(),
            method: Method::GET,
            uri: uri.into(),
            version: Version::HTTP_11,
            status: 200,
            duration: Duration::from_millis(1),
            req_size: 0,
            resp_size: 0,
            req_headers: None,
            resp_headers: None,
            tags: Vec::new(),
        }
    }

    #[test]
    fn addresses_and_numbers_read_as_display_writes_them() {
        let f = Format::compile("{{RemoteAddr}} {{RealIP}} {{StatusCode}} {{RespSize}}").unwrap();
        for (peer, real) in [
            ("10.0.255.1:65535", "192.168.0.10"),
            ("[2001:db8::1]:443", "::1"),
            ("0.0.0.0:0", "1.2.3.4"),
        ] {
            let mut r = record("/");
            r.remote_addr = peer.parse().unwrap();
            r.real_ip = real.parse().unwrap();
            r.resp_size = u64::MAX;
            let mut s = String::new();
            f.render(&r, &mut s);
            assert_eq!(s, format!("{peer} {real} 200 {}", u64::MAX));
        }
    }

    #[test]
    fn unknown_variable_is_an_error() {
        let e = Format::compile("{{Nope}}").unwrap_err();
        assert_eq!(e.path, "accessLogFormat");
        assert!(Format::compile("").is_ok());
    }
}
