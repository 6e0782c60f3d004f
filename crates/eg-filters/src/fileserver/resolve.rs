//! From a request path to the file that answers it: percent-decoding, normalisation,
//! `rewrite`, `tryFiles`, `index`, precompressed siblings, `hidden` and the root check.
//!
//! Everything here touches the file system and runs on a blocking thread.

use std::fs::Metadata;
use std::path::{Path, PathBuf};

use eg_protocols::escape::unescape;

use super::spec::{Config, Precompressed, TryError, TryFile};

/// The placeholder of `tryFiles` entries replaced by the request path.
pub const PATH_PLACEHOLDER: &str = "{path}";

/// A file found for a request.
#[derive(Debug)]
pub struct Found {
    /// The file that is sent (a precompressed sibling when `encoding` is set).
    pub path: PathBuf,
    /// The file the client asked for: its name gives the `Content-Type`, its path the
    /// `Cache-Control` rule.
    pub asked: PathBuf,
    /// The `Content-Encoding` of a precompressed sibling.
    pub encoding: Option<&'static str>,
    /// The sent file's metadata.
    pub meta: Metadata,
    /// `max-age` of the `Cache-Control` rule the file matches.
    pub max_age: Option<u64>,
}

/// Why no file answers.
#[derive(Debug, Clone)]
pub enum Failure {
    /// The path cannot be decoded or leaves the root: 400.
    BadRequest,
    /// No such file: 404.
    NotFound,
    /// A hidden file: 403.
    Hidden,
    /// No `tryFiles` entry exists and the list ends with `=<code> [message]`.
    Try(TryError),
}

/// Why a candidate path is not served.
enum Miss {
    Unsafe,
    Missing,
}

/// The request path decoded and normalised: `/`-separated, starting with `/`, without
/// `.` or empty segments, with a trailing `/` when the request had one. `None` when it
/// does not decode, holds a NUL byte, or a `..` climbs above the root.
pub fn normalise(raw: &str) -> Option<String> {
    let decoded = unescape(raw, false)?;
    clean(&decoded)
}

/// Normalises an already-decoded path (see [`normalise`]).
pub fn clean(path: &str) -> Option<String> {
    if path.contains('\0') {
        return None;
    }
    let mut segments: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                segments.pop()?;
            }
            s => segments.push(s),
        }
    }
    let dir = path.ends_with('/') || path.ends_with("/.") || path.ends_with("/..");
    let mut out = String::with_capacity(path.len() + 1);
    for s in &segments {
        out.push('/');
        out.push_str(s);
    }
    if dir || segments.is_empty() {
        out.push('/');
    }
    Some(out)
}

/// Applies `rewrite` to a normalised path; the result is normalised again (a query or
/// fragment the replacement adds is dropped: files have none).
fn rewritten(cfg: &Config, path: String) -> Option<String> {
    let Some((re, to)) = &cfg.rewrite else {
        return Some(path);
    };
    if !re.is_match(&path) {
        return Some(path);
    }
    let out = re.replace_all(&path, to.as_str());
    let out = out.split(['?', '#']).next().unwrap_or("");
    clean(&format!("/{out}"))
}

/// Finds the file for request path `raw` (still percent-encoded), trying the encodings
/// the client accepts (`accepted`, in the spec's order).
pub fn resolve(cfg: &Config, raw: &str, accepted: &[Precompressed]) -> Result<Found, Failure> {
    let path = normalise(raw).ok_or(Failure::BadRequest)?;
    let path = rewritten(cfg, path).ok_or(Failure::BadRequest)?;
    let found = if cfg.try_files.is_empty() {
        match lookup(cfg, &path, accepted) {
            Ok(f) => f,
            Err(Miss::Unsafe) => return Err(Failure::BadRequest),
            Err(Miss::Missing) => return Err(Failure::NotFound),
        }
    } else {
        let hit = cfg.try_files.iter().find_map(|TryFile::Path(t)| {
            let candidate = clean(&t.replace(PATH_PLACEHOLDER, &path))?;
            lookup(cfg, &candidate, accepted).ok()
        });
        match (hit, &cfg.try_error) {
            (Some(f), _) => f,
            (None, Some(e)) => return Err(Failure::Try(e.clone())),
            (None, None) => return Err(Failure::NotFound),
        }
    };
    if hidden(cfg, &found.path) {
        return Err(Failure::Hidden);
    }
    Ok(found)
}

/// The file for normalised path `path`: an index file of a directory path, or the file
/// itself; a precompressed sibling first when the client accepts one.
fn lookup(cfg: &Config, path: &str, accepted: &[Precompressed]) -> Result<Found, Miss> {
    let base = cfg.root.join(path.trim_start_matches('/'));
    if path.ends_with('/') {
        for name in &cfg.index {
            match file(cfg, &base.join(name), accepted) {
                Err(Miss::Missing) => continue,
                other => return other,
            }
        }
        return Err(Miss::Missing);
    }
    file(cfg, &base, accepted)
}

/// `asked` or its accepted precompressed sibling, when it is a regular file that resolves
/// under the root.
fn file(cfg: &Config, asked: &Path, accepted: &[Precompressed]) -> Result<Found, Miss> {
    for p in accepted {
        let mut sibling = asked.as_os_str().to_owned();
        sibling.push(p.suffix);
        let sibling = PathBuf::from(sibling);
        if let Some(meta) = regular_file(cfg, &sibling)? {
            return Ok(found(cfg, sibling, asked, Some(p.encoding), meta));
        }
    }
    match regular_file(cfg, asked)? {
        Some(meta) => Ok(found(cfg, asked.to_path_buf(), asked, None, meta)),
        None => Err(Miss::Missing),
    }
}

fn found(
    cfg: &Config,
    path: PathBuf,
    asked: &Path,
    encoding: Option<&'static str>,
    meta: Metadata,
) -> Found {
    Found {
        max_age: max_age(cfg, asked),
        path,
        asked: asked.to_path_buf(),
        encoding,
        meta,
    }
}

/// The metadata of `path` when it is a regular file (symbolic links followed) whose real
/// location is under the root; `Unsafe` when it resolves outside.
fn regular_file(cfg: &Config, path: &Path) -> Result<Option<Metadata>, Miss> {
    let Ok(meta) = std::fs::metadata(path) else {
        return Ok(None);
    };
    if !meta.is_file() {
        return Ok(None);
    }
    match std::fs::canonicalize(path) {
        Ok(real) if real.starts_with(&cfg.real_root) => Ok(Some(meta)),
        Ok(_) => Err(Miss::Unsafe),
        Err(_) => Ok(None),
    }
}

/// Whether `path` (absolute, under the root) is hidden by a `hidden` pattern.
fn hidden(cfg: &Config, path: &Path) -> bool {
    let text = path.to_string_lossy();
    if !cfg.hidden_components.is_empty() {
        let relative = path.strip_prefix(&cfg.root).unwrap_or(path);
        let hit = relative.iter().any(|c| {
            let c = c.to_string_lossy();
            cfg.hidden_components.iter().any(|g| g.matches(&c))
        });
        if hit {
            return true;
        }
    }
    cfg.hidden_paths.iter().any(|(prefix, glob)| {
        text.strip_prefix(prefix.as_str())
            .is_some_and(|rest| rest.starts_with('/'))
            || glob.matches(&text)
    })
}

/// The `max-age` of the first `cacheFileExtensionFilters` rule `asked` matches.
fn max_age(cfg: &Config, asked: &Path) -> Option<u64> {
    if cfg.cache_rules.is_empty() {
        return None;
    }
    let text = asked.to_string_lossy();
    let name = asked
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    cfg.cache_rules
        .iter()
        .find(|r| {
            r.name_patterns.iter().any(|g| g.matches(&name))
                || r.path_patterns.iter().any(|g| g.matches(&text))
        })
        .map(|r| r.max_age)
}
