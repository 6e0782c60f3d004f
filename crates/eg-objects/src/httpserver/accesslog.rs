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
//!
//! `accessLogFormat: json` writes one JSON object per line instead of a template. With a
//! size limit set ([`set_access_log_rotation`]) the flusher renames a file that grew past
//! it to `filter_http_access.log.1` (older backups move up to `.N`, the oldest is
//! removed) and reopens; requests never rotate, and a batch always lands whole in one
//! file.

use std::collections::HashMap;
use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use eg_protocols::Tag;
use eg_spec::decimal::extend_decimal;
use eg_spec::{GoDuration, SpecError};
use http::{HeaderMap, HeaderValue, Method, Version};
use parking_lot::Mutex;

/// The access-log file name inside the log directory.
pub const ACCESS_LOG_FILE: &str = "filter_http_access.log";
/// Longest URI written; longer ones are cut and end with `...`.
const MAX_URI_LEN: usize = 512;
/// The `accessLogFormat` value that selects JSON lines.
pub const JSON_FORMAT: &str = "json";
/// Longest `Host`, `User-Agent` or `Referer` value written in a JSON line (bytes); longer
/// ones are cut and end with `...`.
const MAX_HEADER_LEN: usize = 512;
/// Most header values written per dump (`reqHeaders`, `respHeaders`) of a JSON line; the
/// rest is summed up as `"...": ["<n> more"]`.
const MAX_DUMP_VALUES: usize = 64;

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
    /// JSON lines instead of the template (`accessLogFormat: json`).
    json: bool,
    /// The line shows `Host`, `User-Agent` and `Referer` (JSON lines do).
    pub wants_client_headers: bool,
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
        if format.trim() == JSON_FORMAT {
            return Ok(Format {
                parts: Vec::new(),
                json: true,
                wants_client_headers: true,
                wants_req_headers: true,
                wants_resp_headers: true,
            });
        }
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
            json: false,
            wants_client_headers: false,
            wants_req_headers: uses(Var::ReqHeaders),
            wants_resp_headers: uses(Var::RespHeaders),
            parts,
        })
    }

    /// Renders one line (without the newline).
    pub fn render(&self, r: &Record, out: &mut Vec<u8>) {
        use std::io::Write as _;
        if self.json {
            render_json(r, out);
            return;
        }
        for p in &self.parts {
            match p {
                Part::Lit(s) => out.extend_from_slice(s.as_bytes()),
                Part::Var(v) => {
                    let _ = match v {
                        Var::Time => {
                            write_time(out, r.time);
                            Ok(())
                        }
                        Var::RemoteAddr => match r.remote_addr {
                            SocketAddr::V4(a) => {
                                push_ip(out, IpAddr::V4(*a.ip()));
                                out.push(b':');
                                extend_decimal(out, u64::from(a.port()));
                                Ok(())
                            }
                            SocketAddr::V6(a) => write!(out, "{a}"),
                        },
                        Var::RealIp => {
                            push_ip(out, r.real_ip);
                            Ok(())
                        }
                        Var::Method => {
                            out.extend_from_slice(r.method.as_str().as_bytes());
                            Ok(())
                        }
                        Var::Uri => {
                            let (uri, cut) = shorten(&r.uri, MAX_URI_LEN);
                            out.extend_from_slice(uri.as_bytes());
                            if cut {
                                out.extend_from_slice(b"...");
                            }
                            Ok(())
                        }
                        Var::Proto => {
                            out.extend_from_slice(proto(r.version).as_bytes());
                            Ok(())
                        }
                        Var::StatusCode => {
                            extend_decimal(out, u64::from(r.status));
                            Ok(())
                        }
                        Var::Duration => {
                            GoDuration(r.duration).extend(out);
                            Ok(())
                        }
                        Var::ReqSize => {
                            extend_decimal(out, r.req_size);
                            Ok(())
                        }
                        Var::RespSize => {
                            extend_decimal(out, r.resp_size);
                            Ok(())
                        }
                        Var::ReqHeaders => write_headers(out, r.req_headers.as_ref()),
                        Var::RespHeaders => write_headers(out, r.resp_headers.as_ref()),
                        Var::Tags => {
                            for (i, t) in r.tags.iter().enumerate() {
                                if i > 0 {
                                    out.extend_from_slice(b" | ");
                                }
                                t.write_bytes(out);
                            }
                            Ok(())
                        }
                    };
                }
            }
        }
    }
}

/// `s` cut to at most `max` bytes on a character boundary, and whether it was cut.
fn shorten(s: &str, max: usize) -> (&str, bool) {
    if s.len() <= max {
        return (s, false);
    }
    let mut cut = max;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    (&s[..cut], true)
}

/// Renders `r` as one JSON object. Every field the template offers, plus the client's
/// `Host`, `User-Agent` and `Referer` (`null` when absent). The header dumps are objects
/// of lower-case name → array of values.
fn render_json(r: &Record, out: &mut Vec<u8>) {
    use std::io::Write as _;
    out.extend_from_slice(b"{\"time\":\"");
    write_time(out, r.time);
    out.extend_from_slice(b"\",\"remoteAddr\":\"");
    match r.remote_addr {
        SocketAddr::V4(a) => {
            push_ip(out, IpAddr::V4(*a.ip()));
            out.push(b':');
            extend_decimal(out, u64::from(a.port()));
        }
        SocketAddr::V6(a) => {
            let _ = write!(out, "{a}");
        }
    }
    out.extend_from_slice(b"\",\"realIP\":\"");
    push_ip(out, r.real_ip);
    out.extend_from_slice(b"\",\"method\":");
    push_json_str(out, r.method.as_str().as_bytes());
    out.extend_from_slice(b",\"uri\":");
    let (uri, cut) = shorten(&r.uri, MAX_URI_LEN);
    push_json_str_cut(out, uri.as_bytes(), cut);
    out.extend_from_slice(b",\"proto\":\"");
    out.extend_from_slice(proto(r.version).as_bytes());
    out.extend_from_slice(b"\",\"statusCode\":");
    extend_decimal(out, u64::from(r.status));
    out.extend_from_slice(b",\"duration\":\"");
    GoDuration(r.duration).extend(out);
    let _ = write!(
        out,
        "\",\"durationMs\":{:.3}",
        r.duration.as_secs_f64() * 1000.0
    );
    out.extend_from_slice(b",\"reqSize\":");
    extend_decimal(out, r.req_size);
    out.extend_from_slice(b",\"respSize\":");
    extend_decimal(out, r.resp_size);
    out.extend_from_slice(b",\"tags\":[");
    let mut tag = Vec::new();
    for (i, t) in r.tags.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        tag.clear();
        t.write_bytes(&mut tag);
        push_json_str(out, &tag);
    }
    out.push(b']');
    for (name, v) in [
        ("host", &r.host),
        ("userAgent", &r.user_agent),
        ("referer", &r.referer),
    ] {
        out.extend_from_slice(b",\"");
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"\":");
        match v {
            Some(v) => {
                let b = v.as_bytes();
                let cut = b.len() > MAX_HEADER_LEN;
                push_json_str_cut(out, &b[..b.len().min(MAX_HEADER_LEN)], cut);
            }
            None => out.extend_from_slice(b"null"),
        }
    }
    out.extend_from_slice(b",\"reqHeaders\":");
    push_json_headers(out, r.req_headers.as_ref());
    out.extend_from_slice(b",\"respHeaders\":");
    push_json_headers(out, r.resp_headers.as_ref());
    out.push(b'}');
}

/// Appends `h` as `{"name":["value",...],...}` (`{}` when absent): values escaped and cut
/// as the client headers are, at most [`MAX_DUMP_VALUES`] of them.
fn push_json_headers(out: &mut Vec<u8>, h: Option<&HeaderMap>) {
    out.push(b'{');
    let mut written = 0;
    let mut left = 0;
    if let Some(h) = h {
        for name in h.keys() {
            if written == MAX_DUMP_VALUES {
                left += h.get_all(name).iter().count();
                continue;
            }
            if written > 0 {
                out.push(b',');
            }
            push_json_str(out, name.as_str().as_bytes());
            out.extend_from_slice(b":[");
            for (i, v) in h.get_all(name).iter().enumerate() {
                if written == MAX_DUMP_VALUES {
                    left += 1;
                    continue;
                }
                if i > 0 {
                    out.push(b',');
                }
                let b = v.as_bytes();
                let cut = b.len() > MAX_HEADER_LEN;
                push_json_str_cut(out, &b[..b.len().min(MAX_HEADER_LEN)], cut);
                written += 1;
            }
            out.push(b']');
        }
    }
    if left > 0 {
        if written > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"\"...\":[\"");
        extend_decimal(out, left as u64);
        out.extend_from_slice(b" more\"]");
    }
    out.push(b'}');
}

/// Appends `b` as a JSON string, with `...` at the end when it was `cut`.
fn push_json_str_cut(out: &mut Vec<u8>, b: &[u8], cut: bool) {
    push_json_str(out, b);
    if cut {
        out.pop();
        out.extend_from_slice(b"...\"");
    }
}

/// Appends `b` as a quoted JSON string: `"` and `\` escaped, control characters as
/// `\u00XX`, bytes that are not UTF-8 as `\ufffd` (as Go's `encoding/json` does).
fn push_json_str(out: &mut Vec<u8>, b: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    for chunk in b.utf8_chunks() {
        // Every byte to escape is ASCII; the others of valid UTF-8 go in as they are.
        for &c in chunk.valid().as_bytes() {
            match c {
                b'"' => out.extend_from_slice(b"\\\""),
                b'\\' => out.extend_from_slice(b"\\\\"),
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\r' => out.extend_from_slice(b"\\r"),
                b'\t' => out.extend_from_slice(b"\\t"),
                c if c < 0x20 || c == 0x7f => {
                    let n = usize::from(c);
                    out.extend_from_slice(b"\\u00");
                    out.push(HEX[n >> 4]);
                    out.push(HEX[n & 0xf]);
                }
                c => out.push(c),
            }
        }
        if !chunk.invalid().is_empty() {
            out.extend_from_slice(b"\\ufffd");
        }
    }
    out.push(b'"');
}

/// Writes `t` as local time, `2006-01-02T15:04:05.000-07:00`. The part down to the second
/// and the offset are computed once a second per thread (the time zone lookup is the
/// costly part); the milliseconds every time.
fn write_time(out: &mut Vec<u8>, t: SystemTime) {
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
        out.extend_from_slice(c.1.as_bytes());
        let ms = since.subsec_millis();
        let digits = [b'.', digit(ms / 100), digit(ms / 10 % 10), digit(ms % 10)];
        out.extend_from_slice(&digits);
        out.extend_from_slice(c.2.as_bytes());
    });
}

/// The ASCII digit of `d` (below 10).
fn digit(d: u32) -> u8 {
    b'0' + (d % 10) as u8
}

/// Appends an address as `Display` writes it; IPv4 without the formatting machinery.
fn push_ip(out: &mut Vec<u8>, ip: IpAddr) {
    use std::io::Write as _;
    match ip {
        IpAddr::V4(v4) => {
            // Written into one stack buffer and appended once.
            let mut buf = [0u8; 15];
            let mut n = 0;
            for (i, &o) in v4.octets().iter().enumerate() {
                if i > 0 {
                    buf[n] = b'.';
                    n += 1;
                }
                if o >= 100 {
                    buf[n] = b'0' + o / 100;
                    n += 1;
                }
                if o >= 10 {
                    buf[n] = b'0' + o / 10 % 10;
                    n += 1;
                }
                buf[n] = b'0' + o % 10;
                n += 1;
            }
            out.extend_from_slice(&buf[..n]);
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

fn write_headers(out: &mut Vec<u8>, h: Option<&HeaderMap>) -> std::io::Result<()> {
    use std::io::Write as _;
    let Some(h) = h else { return Ok(()) };
    for (i, k) in h.keys().enumerate() {
        if i > 0 {
            out.extend_from_slice(b", ");
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
    /// `Host` (or the URI's authority for HTTP/2), when the format shows it.
    pub host: Option<HeaderValue>,
    /// `User-Agent`, when the format shows it.
    pub user_agent: Option<HeaderValue>,
    /// `Referer`, when the format shows it.
    pub referer: Option<HeaderValue>,
}

/// Shards of line buffers per destination (worker threads map onto them).
const SHARDS: usize = 16;
/// A shard's buffer is written out when it holds this much.
const FLUSH_AT: usize = 64 * 1024;
/// Lines wait at most this long before the flusher writes them.
pub const FLUSH_INTERVAL: Duration = Duration::from_secs(1);

/// Size-based rotation of the access-log files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rotation {
    /// A file that reached this many bytes is rotated; 0 = never.
    pub max_bytes: u64,
    /// Rotated files kept (`.1` newest … `.N` oldest); 0 = the full file is removed.
    pub max_backups: u32,
}

/// The rotation every destination uses unless it was given its own.
static ROTATE_MAX_BYTES: AtomicU64 = AtomicU64::new(0);
/// See [`ROTATE_MAX_BYTES`].
static ROTATE_MAX_BACKUPS: AtomicU32 = AtomicU32::new(0);

/// Sets the size-based rotation of every access log (the server's
/// `--access-log-max-size` and `--access-log-max-backups`); the flusher applies it.
pub fn set_access_log_rotation(r: Rotation) {
    ROTATE_MAX_BACKUPS.store(r.max_backups, Ordering::Release);
    ROTATE_MAX_BYTES.store(r.max_bytes, Ordering::Release);
}

/// One destination: its file (or stdout) and the shards of lines waiting for it.
struct Sink {
    dir: Option<PathBuf>,
    out: Mutex<Output>,
    shards: Box<[Mutex<Vec<u8>>]>,
    /// Held for the whole of a flush: a flush that comes while another one is writing the
    /// lines it took (the final flush of a stopping server beside the periodic one) waits
    /// for it, so when a flush returns every line logged before it began is in the file.
    flushing: Mutex<()>,
    /// This destination's own rotation instead of the global one.
    rotation: Option<Rotation>,
}

struct Output {
    w: Box<dyn Write + Send>,
    /// The [`REOPEN`] generation the file was opened at.
    opened_at: u64,
    /// The inode of the open file (`None` for stdout).
    inode: Option<u64>,
}

impl Output {
    fn open(dir: &Option<PathBuf>) -> Output {
        let opened_at = REOPEN.load(Ordering::Acquire);
        let (w, inode) = open(dir);
        Output {
            w,
            opened_at,
            inode,
        }
    }
}

impl Sink {
    fn new(dir: Option<PathBuf>, rotation: Option<Rotation>) -> Sink {
        Sink {
            out: Mutex::new(Output::open(&dir)),
            dir,
            shards: (0..SHARDS).map(|_| Mutex::new(Vec::new())).collect(),
            flushing: Mutex::new(()),
            rotation,
        }
    }

    /// Writes `lines` (whole lines), reopening the file first when a rotation asked for it.
    fn write(&self, lines: &[u8]) {
        let mut out = self.out.lock();
        let wanted = REOPEN.load(Ordering::Acquire);
        if wanted != out.opened_at {
            let _ = out.w.flush();
            *out = Output::open(&self.dir);
        }
        if out.w.write_all(lines).is_err() {
            *out = Output::open(&self.dir);
            let _ = out.w.write_all(lines);
        }
        let _ = out.w.flush();
    }

    /// Rotates the file when it reached the size limit. Called by the flusher only, with
    /// the output locked, so a batch is written wholly before or wholly after.
    fn rotate_if_due(&self) {
        let Some(dir) = &self.dir else { return };
        let r = self.rotation.unwrap_or_else(|| Rotation {
            max_bytes: ROTATE_MAX_BYTES.load(Ordering::Acquire),
            max_backups: ROTATE_MAX_BACKUPS.load(Ordering::Acquire),
        });
        if r.max_bytes == 0 {
            return;
        }
        let mut out = self.out.lock();
        let path = dir.join(ACCESS_LOG_FILE);
        let Ok(meta) = std::fs::metadata(&path) else {
            // Removed under us: start a new file.
            *out = Output::open(&self.dir);
            return;
        };
        if out.inode != Some(meta.ino()) {
            // Another process (the other side of a binary upgrade) rotated it already.
            *out = Output::open(&self.dir);
            return;
        }
        if meta.len() < r.max_bytes {
            return;
        }
        let _ = out.w.flush();
        if let Err(e) = shift_backups(&path, r.max_backups) {
            tracing::error!(path = %path.display(), error = %e, "cannot rotate the access log");
            return;
        }
        *out = Output::open(&self.dir);
    }

    /// Writes every waiting line (see [`Sink::flushing`]).
    fn flush(&self) {
        let _flushing = self.flushing.lock();
        for shard in self.shards.iter() {
            let lines = std::mem::take(&mut *shard.lock());
            if !lines.is_empty() {
                self.write(&lines);
            }
        }
        // A rotation with nothing waiting still reopens, so the old file is let go.
        if REOPEN.load(Ordering::Acquire) != self.out.lock().opened_at {
            self.write(b"");
        }
        self.rotate_if_due();
    }
}

/// `path.N` for backup `n`.
fn backup_path(path: &Path, n: u32) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(format!(".{n}"));
    PathBuf::from(p)
}

/// Moves `path` to `path.1` and each `path.K` to `path.K+1`, dropping what would go past
/// `max_backups` (with 0 backups `path` itself is removed).
fn shift_backups(path: &Path, max_backups: u32) -> std::io::Result<()> {
    if max_backups == 0 {
        return std::fs::remove_file(path);
    }
    let _ = std::fs::remove_file(backup_path(path, max_backups));
    for n in (1..max_backups).rev() {
        let from = backup_path(path, n);
        if from.exists() {
            std::fs::rename(&from, backup_path(path, n + 1))?;
        }
    }
    std::fs::rename(path, backup_path(path, 1))
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
            sink: sink(dir, None),
        }
    }

    /// Like [`AccessLog::new`], with a rotation of its own instead of the global one (the
    /// destination must not be in use yet).
    #[cfg(test)]
    fn with_rotation(format: Format, dir: PathBuf, rotation: Rotation) -> AccessLog {
        AccessLog {
            format: Arc::new(format),
            sink: sink(Some(dir), Some(rotation)),
        }
    }

    /// The compiled format.
    pub fn format(&self) -> &Format {
        &self.format
    }

    /// Formats the line of `record` into this thread's buffer; writes the buffer when full.
    pub fn log(&self, record: &Record) {
        let shard = &self.sink.shards[shard_index()];
        let mut buf = shard.lock();
        if buf.capacity() == 0 {
            buf.reserve(FLUSH_AT + 1024);
        }
        self.format.render(record, &mut buf);
        buf.push(b'\n');
        if buf.len() >= FLUSH_AT {
            let full = std::mem::replace(&mut *buf, Vec::with_capacity(FLUSH_AT + 1024));
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

fn sink(dir: Option<PathBuf>, rotation: Option<Rotation>) -> Arc<Sink> {
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
        .or_insert_with(|| Arc::new(Sink::new(dir, rotation)))
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

/// Opens the destination; the inode is `None` for stdout.
fn open(dir: &Option<PathBuf>) -> (Box<dyn Write + Send>, Option<u64>) {
    if let Some(d) = dir {
        let path = d.join(ACCESS_LOG_FILE);
        let file = std::fs::create_dir_all(d).and_then(|_| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
        });
        match file {
            Ok(f) => {
                let inode = f.metadata().ok().map(|m| m.ino());
                return (Box::new(f), inode);
            }
            Err(e) => {
                tracing::error!(path = %path.display(), error = %e, "cannot open the access log; writing to stdout")
            }
        }
    }
    (Box::new(std::io::stdout()), None)
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

    /// The line `f` renders for `r`, as text (a line is always UTF-8).
    fn rendered(f: &Format, r: &Record) -> String {
        let mut line = Vec::new();
        f.render(r, &mut line);
        String::from_utf8(line).unwrap()
    }

    #[test]
    fn addresses_are_written_as_display_writes_them() {
        for ip in [
            "0.0.0.0",
            "9.10.99.100",
            "255.255.255.255",
            "127.0.0.1",
            "::1",
            "2001:db8::8a2e:370:7334",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            let mut out = b">".to_vec();
            push_ip(&mut out, ip);
            assert_eq!(out, format!(">{ip}").as_bytes());
        }
    }

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
            host: None,
            user_agent: None,
            referer: None,
        };
        let s = rendered(&f, &r);
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
        let time = |t: SystemTime| {
            let mut s = Vec::new();
            write_time(&mut s, t);
            String::from_utf8(s).unwrap()
        };
        assert_eq!(time(t), want);
        // Again from the cache, in another millisecond of the same second.
        let s = time(t + Duration::from_millis(900));
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
                        log.log(&record(&format!("/t{t}/{i}")));
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
            host: None,
            user_agent: None,
            referer: None,
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
            let s = rendered(&f, &r);
            assert_eq!(s, format!("{peer} {real} 200 {}", u64::MAX));
        }
    }

    #[test]
    fn json_lines_parse_and_hold_every_field_of_hostile_input() {
        let f = Format::compile(" json ").unwrap();
        assert!(f.wants_client_headers && f.wants_req_headers && f.wants_resp_headers);
        let mut r = record("/a\"b\\c?q=\u{7f}\u{1}\u{e9}</script>");
        r.remote_addr = "[2001:db8::1]:443".parse().unwrap();
        r.real_ip = "10.0.0.9".parse().unwrap();
        r.method = Method::from_bytes(b"PURGE").unwrap();
        r.version = Version::HTTP_2;
        r.status = 503;
        r.duration = Duration::from_micros(1500);
        r.req_size = 7;
        r.resp_size = u64::MAX;
        r.tags = vec!["pipeline(p\"1)".into(), "line\nbreak".into()];
        r.host = Some(HeaderValue::from_static("api.example.com"));
        r.user_agent = Some(HeaderValue::from_bytes(b"curl/8 \xff\xfe \"x\"\t").unwrap());
        r.referer = None;
        let s = rendered(&f, &r);
        assert!(!s.contains('\n') && !s.contains('\u{7f}'), "{s}");
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v["remoteAddr"], "[2001:db8::1]:443");
        assert_eq!(v["realIP"], "10.0.0.9");
        assert_eq!(v["method"], "PURGE");
        assert_eq!(v["uri"], "/a\"b\\c?q=\u{7f}\u{1}\u{e9}</script>");
        assert_eq!(v["proto"], "HTTP/2.0");
        assert_eq!(v["statusCode"], 503);
        assert_eq!(v["duration"], "1.5ms");
        assert_eq!(v["durationMs"], 1.5);
        assert_eq!(v["reqSize"], 7);
        assert_eq!(v["respSize"], u64::MAX);
        assert_eq!(
            v["tags"],
            serde_json::json!(["pipeline(p\"1)", "line\nbreak"])
        );
        assert_eq!(v["host"], "api.example.com");
        // One replacement character per byte that is not UTF-8, as Go writes them.
        assert_eq!(v["userAgent"], "curl/8 \u{fffd}\u{fffd} \"x\"\t");
        assert!(v["referer"].is_null());
        assert_eq!(v["reqHeaders"], serde_json::json!({}));
        assert_eq!(v["respHeaders"], serde_json::json!({}));
        let time = v["time"].as_str().unwrap();
        assert!(chrono::DateTime::parse_from_rfc3339(time).is_ok(), "{time}");
    }

    #[test]
    fn json_cuts_long_values_and_stays_valid() {
        let f = Format::compile(JSON_FORMAT).unwrap();
        let mut r = record(&format!("/{}", "\u{e9}".repeat(400)));
        r.user_agent = Some(HeaderValue::from_bytes(&[b'\\'; 2000]).unwrap());
        let s = rendered(&f, &r);
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        let uri = v["uri"].as_str().unwrap();
        assert!(
            uri.len() <= MAX_URI_LEN + 3 && uri.ends_with("..."),
            "{uri}"
        );
        let ua = v["userAgent"].as_str().unwrap();
        assert_eq!(ua.len(), MAX_HEADER_LEN + 3);
    }

    #[test]
    fn json_dumps_headers_escaped_repeated_and_bounded() {
        let f = Format::compile(JSON_FORMAT).unwrap();
        let mut r = record("/");
        let mut req = HeaderMap::new();
        req.append("x-quote", HeaderValue::from_static("a\"b\\c"));
        req.append("accept", HeaderValue::from_static("text/html"));
        req.append("accept", HeaderValue::from_static("*/*"));
        req.append("x-bin", HeaderValue::from_bytes(b"\xff\t").unwrap());
        req.append("x-long", HeaderValue::from_bytes(&[b'v'; 2000]).unwrap());
        r.req_headers = Some(req);
        let mut resp = HeaderMap::new();
        for i in 0..MAX_DUMP_VALUES + 5 {
            resp.append(
                "set-cookie",
                HeaderValue::from_str(&format!("c{i}=1")).unwrap(),
            );
        }
        resp.append("x-after", HeaderValue::from_static("1"));
        r.resp_headers = Some(resp);
        let s = rendered(&f, &r);
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        let req = &v["reqHeaders"];
        assert_eq!(req["x-quote"], serde_json::json!(["a\"b\\c"]));
        assert_eq!(req["accept"], serde_json::json!(["text/html", "*/*"]));
        assert_eq!(req["x-bin"], serde_json::json!(["\u{fffd}\t"]));
        let long = req["x-long"][0].as_str().unwrap();
        assert_eq!(long.len(), MAX_HEADER_LEN + 3);
        assert!(long.ends_with("..."));
        let resp = &v["respHeaders"];
        assert_eq!(
            resp["set-cookie"].as_array().unwrap().len(),
            MAX_DUMP_VALUES
        );
        assert_eq!(resp["set-cookie"][0], "c0=1");
        assert_eq!(resp["..."], serde_json::json!(["6 more"]));
        assert!(resp.get("x-after").is_none());
    }

    /// Every line of the access log in `dir` and its backups, and how many backups exist.
    fn all_lines(dir: &Path) -> (Vec<String>, u32) {
        let path = dir.join(ACCESS_LOG_FILE);
        let mut lines: Vec<String> = std::fs::read_to_string(&path)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect();
        let mut n = 0;
        while let Ok(text) = std::fs::read_to_string(backup_path(&path, n + 1)) {
            n += 1;
            assert!(text.ends_with('\n'), "backup {n} ends inside a line");
            lines.extend(text.lines().map(str::to_string));
        }
        (lines, n)
    }

    #[test]
    fn rotation_under_concurrent_writers_keeps_every_line_once() {
        const THREADS: usize = 4;
        const LINES: usize = 5000;
        const FLUSH_EVERY: usize = 100;
        let dir = tempfile::tempdir().unwrap();
        let rotation = Rotation {
            max_bytes: 64 * 1024,
            max_backups: 1000,
        };
        let log = AccessLog::with_rotation(
            Format::compile("{{URI}}").unwrap(),
            dir.path().to_path_buf(),
            rotation,
        );
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        // Flushes (and so rotations) while the writers run, as the flusher thread does.
        let flusher = {
            let done = done.clone();
            std::thread::spawn(move || {
                while !done.load(Ordering::Acquire) {
                    flush_access_logs();
                    std::thread::yield_now();
                }
            })
        };
        let pad = "p".repeat(80);
        let writers: Vec<_> = (0..THREADS)
            .map(|t| {
                let log = log.clone();
                let pad = pad.clone();
                std::thread::spawn(move || {
                    for i in 0..LINES {
                        log.log(&record(&format!("/t{t}/{i}/{pad}")));
                        // Writers rotate too, so rotations meet writes of other threads
                        // however the threads are scheduled.
                        if i % FLUSH_EVERY == 0 {
                            flush_access_logs();
                        }
                    }
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        done.store(true, Ordering::Release);
        flusher.join().unwrap();
        flush_access_logs();
        let (lines, backups) = all_lines(dir.path());
        assert!(backups > 5, "only {backups} rotations");
        let unique: std::collections::HashSet<&String> = lines.iter().collect();
        assert_eq!(lines.len(), THREADS * LINES);
        assert_eq!(unique.len(), THREADS * LINES, "every line exactly once");
        for l in &lines {
            assert!(l.starts_with("/t") && l.ends_with(&pad), "split line {l}");
        }
    }

    #[test]
    fn backups_are_capped_and_the_oldest_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let rotation = Rotation {
            max_bytes: 256,
            max_backups: 3,
        };
        let log = AccessLog::with_rotation(
            Format::compile("{{URI}}").unwrap(),
            dir.path().to_path_buf(),
            rotation,
        );
        let line = "x".repeat(300);
        for round in 0..10 {
            log.log(&record(&format!("/{round}/{line}")));
            flush_access_logs();
        }
        let path = dir.path().join(ACCESS_LOG_FILE);
        let (lines, backups) = all_lines(dir.path());
        assert_eq!(backups, 3);
        assert!(!backup_path(&path, 4).exists());
        // The newest rounds are kept, newest first in `.1`.
        assert!(std::fs::read_to_string(backup_path(&path, 1))
            .unwrap()
            .starts_with("/9/"));
        assert!(std::fs::read_to_string(backup_path(&path, 3))
            .unwrap()
            .starts_with("/7/"));
        assert_eq!(lines.len(), 3);
    }

    #[test]
    fn unknown_variable_is_an_error() {
        let e = Format::compile("{{Nope}}").unwrap_err();
        assert_eq!(e.path, "accessLogFormat");
        assert!(Format::compile("").is_ok());
    }
}
