//! The answer for a found file: validators (`ETag`, `Last-Modified`), conditional requests
//! (304), byte ranges (206/416), `Content-Type`, precompressed and on-the-fly gzip, and the
//! body from the buffer pool or streamed from disk.
//!
//! Runs on a blocking thread (it opens, reads and seeks files).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::header::{
    ACCEPT_RANGES, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE,
    ETAG, LAST_MODIFIED, VARY,
};
use http::{HeaderMap, HeaderValue, StatusCode};

use super::cache::{BufferPool, Cached};
use super::mime;
use super::resolve::Found;
use super::spec::Config;

/// Smallest file compressed on the fly: below this gzip's framing outweighs the gain.
pub const GZIP_MIN_LENGTH: u64 = 256;

/// The request headers that shape the answer.
#[derive(Debug, Default, Clone)]
pub struct Conditions {
    /// `HEAD` rather than `GET`.
    pub head: bool,
    /// `If-None-Match`.
    pub if_none_match: Option<String>,
    /// `If-Modified-Since`.
    pub if_modified_since: Option<String>,
    /// `Range`.
    pub range: Option<String>,
    /// `If-Range`.
    pub if_range: Option<String>,
    /// Whether the client accepts gzip.
    pub accepts_gzip: bool,
}

/// What to send as the body.
pub enum Payload {
    /// Nothing.
    Empty,
    /// Bytes in memory.
    Bytes(Bytes),
    /// `len` bytes of a file from its current position, gzipped on the way when `gzip`.
    File {
        /// The open file.
        file: File,
        /// How many bytes to send.
        len: u64,
        /// Gzip them on the fly.
        gzip: bool,
    },
}

/// A status, headers and body.
pub struct Reply {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub payload: Payload,
}

/// The file's contents: from memory (small files) or from disk.
enum Source {
    Memory(Cached),
    Disk(File),
}

/// Builds the answer for `found`.
pub fn serve(
    cfg: &Config,
    pool: &BufferPool,
    found: &Found,
    c: &Conditions,
) -> std::io::Result<Reply> {
    let len = found.meta.len();
    let modified = found.meta.modified().ok();
    let source = if len <= cfg.max_file_size {
        match pool.get(&found.path, &found.meta) {
            Some(hit) => Source::Memory(hit),
            None => {
                let mut data = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
                open_under_root(cfg, &found.path)?.read_to_end(&mut data)?;
                let cached = Cached::new(Bytes::from(data));
                pool.insert(&found.path, &found.meta, cached.clone());
                Source::Memory(cached)
            }
        }
    } else {
        Source::Disk(open_under_root(cfg, &found.path)?)
    };
    // The length actually held (a file that changed after its stat is served as read).
    let len = match &source {
        Source::Memory(m) => m.data.len() as u64,
        Source::Disk(_) => len,
    };
    let etag = match &source {
        Source::Memory(m) => m.etag.to_string(),
        Source::Disk(_) => format!("\"{:x}-{len:x}\"", unix_secs(modified)),
    };
    let last_modified = modified.map(httpdate::fmt_http_date);

    let mut headers = HeaderMap::new();
    let vary = cfg.gzip || !cfg.precompressed.is_empty();
    if vary {
        headers.insert(VARY, HeaderValue::from_static("Accept-Encoding"));
    }
    if let Some(age) = found.max_age {
        set(
            &mut headers,
            CACHE_CONTROL,
            &format!("public, max-age={age}"),
        );
    }
    if let Some(lm) = &last_modified {
        set(&mut headers, LAST_MODIFIED, lm);
    }

    let content_type = match mime::by_extension(&found.asked.to_string_lossy()) {
        Some(t) => t,
        None => match &source {
            Source::Memory(m) => mime::sniff(&m.data),
            Source::Disk(f) => sniff_file(f)?,
        },
    };
    let gzip = cfg.gzip
        && found.encoding.is_none()
        && c.range.is_none()
        && c.accepts_gzip
        && len >= GZIP_MIN_LENGTH
        && mime::compressible(content_type);

    if not_modified(c, &etag, modified) {
        let tag = if gzip { format!("W/{etag}") } else { etag };
        set(&mut headers, ETAG, &tag);
        return Ok(Reply {
            status: StatusCode::NOT_MODIFIED,
            headers,
            payload: Payload::Empty,
        });
    }

    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Some(enc) = found.encoding {
        headers.insert(CONTENT_ENCODING, HeaderValue::from_static(enc));
    }

    if gzip {
        // Another representation than the identity one: its validator is weak.
        set(&mut headers, ETAG, &format!("W/{etag}"));
        headers.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        let payload = match source {
            Source::Memory(m) => {
                let z = eg_protocols::gzip::gzip(&m.data)?;
                headers.insert(CONTENT_LENGTH, HeaderValue::from(z.len()));
                Payload::Bytes(z)
            }
            Source::Disk(file) => Payload::File {
                file,
                len,
                gzip: true,
            },
        };
        return Ok(finish(StatusCode::OK, headers, payload, c.head));
    }

    set(&mut headers, ETAG, &etag);
    headers.insert(ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    let (status, start, count) = match range(c, &etag, last_modified.as_deref(), len) {
        RangeAnswer::Whole => (StatusCode::OK, 0, len),
        RangeAnswer::Part(start, end) => {
            set(
                &mut headers,
                CONTENT_RANGE,
                &format!("bytes {start}-{end}/{len}"),
            );
            (StatusCode::PARTIAL_CONTENT, start, end - start + 1)
        }
        RangeAnswer::Unsatisfiable => {
            set(&mut headers, CONTENT_RANGE, &format!("bytes */{len}"));
            headers.remove(CONTENT_ENCODING);
            headers.insert(
                CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            let body = Bytes::from_static(b"invalid range: failed to overlap");
            headers.insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
            return Ok(finish(
                StatusCode::RANGE_NOT_SATISFIABLE,
                headers,
                Payload::Bytes(body),
                c.head,
            ));
        }
    };
    headers.insert(CONTENT_LENGTH, HeaderValue::from(count));
    let payload = match source {
        Source::Memory(m) => {
            let from = usize::try_from(start).unwrap_or(usize::MAX);
            let to = usize::try_from(start + count).unwrap_or(usize::MAX);
            Payload::Bytes(m.data.slice(from.min(m.data.len())..to.min(m.data.len())))
        }
        Source::Disk(mut file) => {
            file.seek(SeekFrom::Start(start))?;
            Payload::File {
                file,
                len: count,
                gzip: false,
            }
        }
    };
    Ok(finish(status, headers, payload, c.head))
}

/// Opens `path` and checks, where the system says which file a descriptor holds, that the
/// file opened is still under the root: a directory swapped for a symbolic link between the
/// lookup and the open cannot lead outside.
fn open_under_root(cfg: &Config, path: &std::path::Path) -> std::io::Result<File> {
    let file = File::open(path)?;
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let fd_link = format!("/proc/self/fd/{}", file.as_raw_fd());
        if let Ok(real) = std::fs::read_link(fd_link) {
            if !real.starts_with(&cfg.real_root) {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::PermissionDenied,
                    "the file opened is outside the root",
                ));
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = cfg;
    Ok(file)
}

/// The reply, without a body for `HEAD` (its headers stay those of a `GET`).
fn finish(status: StatusCode, headers: HeaderMap, payload: Payload, head: bool) -> Reply {
    Reply {
        status,
        headers,
        payload: if head { Payload::Empty } else { payload },
    }
}

fn set(headers: &mut HeaderMap, name: http::HeaderName, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        headers.insert(name, v);
    }
}

fn unix_secs(t: Option<SystemTime>) -> u64 {
    t.and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs())
}

/// The type of a file of unknown extension from its first bytes; the position is put back.
fn sniff_file(mut f: &File) -> std::io::Result<&'static str> {
    let mut head = [0u8; mime::SNIFF_LEN];
    let mut n = 0;
    while n < head.len() {
        let got = f.read(&mut head[n..])?;
        if got == 0 {
            break;
        }
        n += got;
    }
    f.seek(SeekFrom::Start(0))?;
    Ok(mime::sniff(&head[..n]))
}

/// The opaque part of an entity tag (`W/` dropped: the weak comparison of RFC 9110).
fn opaque(tag: &str) -> &str {
    let tag = tag.trim();
    tag.strip_prefix("W/").unwrap_or(tag)
}

/// Whether the conditional headers make this a 304: `If-None-Match` (weak comparison,
/// `*`) decides when present; otherwise `If-Modified-Since` (to the second).
fn not_modified(c: &Conditions, etag: &str, modified: Option<SystemTime>) -> bool {
    if let Some(inm) = &c.if_none_match {
        return inm
            .split(',')
            .any(|t| t.trim() == "*" || opaque(t) == opaque(etag));
    }
    let (Some(ims), Some(modified)) = (&c.if_modified_since, modified) else {
        return false;
    };
    match httpdate::parse_http_date(ims.trim()) {
        Ok(since) => unix_secs(Some(modified)) <= unix_secs(Some(since)),
        Err(_) => false,
    }
}

/// How a `Range` header is answered.
#[derive(Debug, PartialEq, Eq)]
enum RangeAnswer {
    /// The whole file (no range, an unreadable or multi-range header, a stale `If-Range`).
    Whole,
    /// Bytes `start..=end`.
    Part(u64, u64),
    /// 416.
    Unsatisfiable,
}

fn range(c: &Conditions, etag: &str, last_modified: Option<&str>, len: u64) -> RangeAnswer {
    let Some(spec) = c.range.as_deref() else {
        return RangeAnswer::Whole;
    };
    if let Some(if_range) = c.if_range.as_deref().map(str::trim) {
        // A strong validator equal to the current one, or the exact Last-Modified date.
        let current = if_range.starts_with('"') && if_range == etag
            || last_modified.is_some_and(|lm| lm == if_range);
        if !current {
            return RangeAnswer::Whole;
        }
    }
    parse_range(spec, len)
}

/// A single `bytes=` range of a `len`-byte file. Several ranges or a malformed header
/// answer the whole file.
fn parse_range(spec: &str, len: u64) -> RangeAnswer {
    let Some(set) = spec.trim().strip_prefix("bytes=") else {
        return RangeAnswer::Whole;
    };
    if set.contains(',') {
        return RangeAnswer::Whole;
    }
    let Some((first, last)) = set.trim().split_once('-') else {
        return RangeAnswer::Whole;
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let (first, last) = (first.trim(), last.trim());
    if first.is_empty() {
        // A suffix: the last N bytes.
        if !digits(last) {
            return RangeAnswer::Whole;
        }
        let Ok(n) = last.parse::<u64>() else {
            return RangeAnswer::Whole;
        };
        if n == 0 || len == 0 {
            return RangeAnswer::Unsatisfiable;
        }
        return RangeAnswer::Part(len.saturating_sub(n), len - 1);
    }
    if !digits(first) || !(last.is_empty() || digits(last)) {
        return RangeAnswer::Whole;
    }
    let Ok(start) = first.parse::<u64>() else {
        return RangeAnswer::Unsatisfiable;
    };
    let end = if last.is_empty() {
        u64::MAX
    } else {
        match last.parse::<u64>() {
            Ok(e) if e >= start => e,
            Ok(_) => return RangeAnswer::Whole,
            Err(_) => u64::MAX,
        }
    };
    if start >= len {
        return RangeAnswer::Unsatisfiable;
    }
    RangeAnswer::Part(start, end.min(len - 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-4", 10), RangeAnswer::Part(0, 4));
        assert_eq!(parse_range("bytes=5-", 10), RangeAnswer::Part(5, 9));
        assert_eq!(parse_range("bytes=-3", 10), RangeAnswer::Part(7, 9));
        assert_eq!(parse_range("bytes=-30", 10), RangeAnswer::Part(0, 9));
        assert_eq!(parse_range("bytes=8-100", 10), RangeAnswer::Part(8, 9));
        assert_eq!(parse_range("bytes=10-", 10), RangeAnswer::Unsatisfiable);
        assert_eq!(parse_range("bytes=-0", 10), RangeAnswer::Unsatisfiable);
        assert_eq!(parse_range("bytes=0-1,3-4", 10), RangeAnswer::Whole);
        assert_eq!(parse_range("bytes=4-2", 10), RangeAnswer::Whole);
        assert_eq!(parse_range("items=0-1", 10), RangeAnswer::Whole);
        assert_eq!(parse_range("bytes=a-b", 10), RangeAnswer::Whole);
        assert_eq!(
            parse_range("bytes=99999999999999999999999-", 10),
            RangeAnswer::Unsatisfiable
        );
    }
}
