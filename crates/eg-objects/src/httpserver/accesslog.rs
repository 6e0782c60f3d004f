//! The access log: one line per request in the server's `accessLogFormat`.
//!
//! The request path only moves a small record into a bounded channel (dropping it when the
//! channel is full); a writer thread formats the line and writes it, buffered, to
//! `<log-dir>/filter_http_access.log`, or to stdout when there is no log directory.

use std::collections::HashMap;
use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
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
/// Records waiting to be written; more are dropped.
const QUEUE: usize = 16 * 1024;

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
                            let t: chrono::DateTime<chrono::Local> = r.time.into();
                            write!(out, "{}", t.format("%Y-%m-%dT%H:%M:%S%.3f%:z"))
                        }
                        Var::RemoteAddr => write!(out, "{}", r.remote_addr),
                        Var::RealIp => write!(out, "{}", r.real_ip),
                        Var::Method => write!(out, "{}", r.method),
                        Var::Uri => {
                            if r.uri.len() > MAX_URI_LEN {
                                let mut cut = MAX_URI_LEN;
                                while !r.uri.is_char_boundary(cut) {
                                    cut -= 1;
                                }
                                write!(out, "{}...", &r.uri[..cut])
                            } else {
                                write!(out, "{}", r.uri)
                            }
                        }
                        Var::Proto => write!(out, "{}", proto(r.version)),
                        Var::StatusCode => write!(out, "{}", r.status),
                        Var::Duration => write!(out, "{}", GoDuration(r.duration)),
                        Var::ReqSize => write!(out, "{}", r.req_size),
                        Var::RespSize => write!(out, "{}", r.resp_size),
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

type Item = (Arc<Format>, Record);

/// Where a server's lines go.
#[derive(Debug, Clone)]
pub(crate) struct AccessLog {
    format: Arc<Format>,
    tx: SyncSender<Item>,
}

impl AccessLog {
    /// A log with `format` written to `dir/filter_http_access.log` (stdout when `dir` is
    /// `None`). One writer thread per destination, shared by all servers.
    pub fn new(format: Format, dir: Option<PathBuf>) -> AccessLog {
        AccessLog {
            format: Arc::new(format),
            tx: sink(dir),
        }
    }

    /// The compiled format.
    pub fn format(&self) -> &Format {
        &self.format
    }

    /// Queues a record; dropped when the writer is behind.
    pub fn log(&self, record: Record) {
        match self.tx.try_send((self.format.clone(), record)) {
            Ok(()) | Err(TrySendError::Disconnected(_)) => {}
            Err(TrySendError::Full(_)) => tracing::debug!("access log queue full; line dropped"),
        }
    }
}

fn sink(dir: Option<PathBuf>) -> SyncSender<Item> {
    static SINKS: OnceLock<Mutex<HashMap<Option<PathBuf>, SyncSender<Item>>>> = OnceLock::new();
    let mut sinks = SINKS.get_or_init(Default::default).lock();
    sinks
        .entry(dir.clone())
        .or_insert_with(|| {
            let (tx, rx) = sync_channel(QUEUE);
            let spawned = std::thread::Builder::new()
                .name("access-log".into())
                .spawn(move || write_loop(dir, rx));
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start the access log writer");
            }
            tx
        })
        .clone()
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
            Ok(f) => return Box::new(std::io::BufWriter::new(f)),
            Err(e) => {
                tracing::error!(path = %path.display(), error = %e, "cannot open the access log; writing to stdout")
            }
        }
    }
    Box::new(std::io::BufWriter::new(std::io::stdout()))
}

/// Bumped by [`reopen_access_logs`]; writers reopen their file when it changed.
static REOPEN: AtomicU64 = AtomicU64::new(0);

/// Makes every access-log writer close and reopen its file before the next line (for
/// log rotation, e.g. on SIGHUP).
pub fn reopen_access_logs() {
    REOPEN.fetch_add(1, Ordering::AcqRel);
}

fn write_loop(dir: Option<PathBuf>, rx: Receiver<Item>) {
    let mut out = open(&dir);
    let mut opened_at = REOPEN.load(Ordering::Acquire);
    let mut line = String::with_capacity(256);
    while let Ok(first) = rx.recv() {
        let wanted = REOPEN.load(Ordering::Acquire);
        if wanted != opened_at {
            let _ = out.flush();
            out = open(&dir);
            opened_at = wanted;
        }
        let mut next = Some(first);
        while let Some((format, record)) = next {
            line.clear();
            format.render(&record, &mut line);
            line.push('\n');
            if out.write_all(line.as_bytes()).is_err() {
                out = open(&dir);
            }
            next = rx.try_recv().ok();
        }
        let _ = out.flush();
    }
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
    fn unknown_variable_is_an_error() {
        let e = Format::compile("{{Nope}}").unwrap_err();
        assert_eq!(e.path, "accessLogFormat");
        assert!(Format::compile("").is_ok());
    }
}
