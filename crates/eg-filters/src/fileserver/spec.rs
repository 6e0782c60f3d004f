//! The `FileServer` spec as written (Easegress v2's field names) and its compiled form.

use std::path::{Path, PathBuf};

use eg_spec::error::join_path;
use eg_spec::SpecError;
use http::StatusCode;
use regex::Regex;
use serde::Deserialize;

use super::glob::Glob;

/// `index` when the spec leaves it empty.
pub const DEFAULT_INDEX: [&str; 2] = ["index.html", "index.txt"];
/// `cache.bufferPoolSize` when 0 or absent: 2 GiB.
pub const DEFAULT_BUFFER_POOL_SIZE: u64 = 2 * 1024 * 1024 * 1024;
/// `cache.bufferPoolMaxFileSize` when 0 or absent: 10 MiB.
pub const DEFAULT_BUFFER_POOL_MAX_FILE_SIZE: u64 = 10 * 1024 * 1024;
/// `cache.bufferPoolTTL` (seconds) when 0 or absent.
pub const DEFAULT_BUFFER_POOL_TTL_SECS: u64 = 600;
/// `cacheFileExtensionFilters[].etagMaxAge` (seconds) when 0, negative or absent.
pub const DEFAULT_ETAG_MAX_AGE: u64 = 3600;
/// The only on-the-fly `compress` method.
pub const COMPRESS_GZIP: &str = "gzip";

/// `FileServer` fields.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FileServerSpec {
    /// The directory files are served from. Required; must be an existing directory.
    #[serde(default)]
    pub root: String,
    /// File names tried, in order, for a path ending in `/`. Default: `index.html`,
    /// `index.txt`.
    #[serde(default)]
    pub index: Vec<String>,
    /// Glob patterns of files that answer 403: a pattern without `/` is matched against
    /// each component of the path under `root`, one with `/` against the absolute file
    /// path (as a directory prefix or as a whole).
    #[serde(default)]
    pub hidden: Vec<String>,
    /// Paths tried in order (`{path}` is the request path); the first existing file is
    /// served. A last entry `=<code> [message]` answers that status when none exists.
    #[serde(default)]
    pub try_files: Vec<String>,
    /// `"<regexp> <replacement>"`: the request path is rewritten (`$1` refers to a group)
    /// before files are looked up.
    #[serde(default)]
    pub rewrite: String,
    /// Space-separated encodings (`gzip`, `br`) whose precompressed siblings
    /// (`file.gz`, `file.br`) are served to clients that accept them.
    #[serde(default)]
    pub precompressed: String,
    /// `gzip` compresses compressible files on the fly for clients that accept it.
    #[serde(default)]
    pub compress: String,
    /// The in-memory file cache and `Cache-Control` rules.
    #[serde(default)]
    pub cache: CacheSpec,
}

/// `cache`.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CacheSpec {
    /// Most bytes of file contents kept in memory. Default (0): 2 GiB.
    #[serde(default, rename = "bufferPoolSize")]
    pub buffer_pool_size: i64,
    /// Largest file read into memory and cached; larger files are streamed from disk.
    /// Default (0): 10 MiB.
    #[serde(default, rename = "bufferPoolMaxFileSize")]
    pub buffer_pool_max_file_size: i64,
    /// Seconds a cached file is kept. Default (0): 600.
    #[serde(default, rename = "bufferPoolTTL")]
    pub buffer_pool_ttl: i64,
    /// Files answered with `Cache-Control: public, max-age=<etagMaxAge>`.
    #[serde(default)]
    pub cache_file_extension_filters: Vec<ExtensionFilter>,
}

/// `cache.cacheFileExtensionFilters[]`.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExtensionFilter {
    /// Glob patterns: without `/` matched against the file name, with `/` against the
    /// absolute file path. Easegress's documentation calls this field `pattern`; both are
    /// read.
    #[serde(default, alias = "pattern")]
    pub extension: Vec<String>,
    /// `max-age` in seconds. Default (0 or less): 3600.
    #[serde(default)]
    pub etag_max_age: i64,
}

/// A precompressed encoding: its `Content-Encoding` token and its file suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Precompressed {
    /// `gzip` or `br`.
    pub encoding: &'static str,
    /// `.gz` or `.br`.
    pub suffix: &'static str,
}

/// The encodings `precompressed` accepts.
const PRECOMPRESSED: [Precompressed; 2] = [
    Precompressed {
        encoding: "gzip",
        suffix: ".gz",
    },
    Precompressed {
        encoding: "br",
        suffix: ".br",
    },
];

/// A `tryFiles` entry.
#[derive(Debug, Clone)]
pub enum TryFile {
    /// A path template (`{path}` replaced by the request path).
    Path(String),
}

/// The `=<code> [message]` answer of `tryFiles`.
#[derive(Debug, Clone)]
pub struct TryError {
    /// The status.
    pub status: StatusCode,
    /// The body.
    pub message: String,
}

/// A compiled `cacheFileExtensionFilters` rule.
#[derive(Debug)]
pub struct CacheRule {
    /// Patterns matched against the file name.
    pub name_patterns: Vec<Glob>,
    /// Patterns matched against the absolute path.
    pub path_patterns: Vec<Glob>,
    /// The `max-age`.
    pub max_age: u64,
}

/// The spec checked and compiled once per generation.
#[derive(Debug)]
pub struct Config {
    /// `root`, absolute and lexically clean (as Easegress's `filepath.Abs`).
    pub root: PathBuf,
    /// `root` with its symbolic links resolved: served files must resolve under it.
    pub real_root: PathBuf,
    /// Index file names.
    pub index: Vec<String>,
    /// Hidden patterns matched against path components.
    pub hidden_components: Vec<Glob>,
    /// Hidden patterns matched against the absolute path: as a directory prefix (the text
    /// without a trailing `/`) and as a glob.
    pub hidden_paths: Vec<(String, Glob)>,
    /// `tryFiles` path templates.
    pub try_files: Vec<TryFile>,
    /// The `=code` entry of `tryFiles`.
    pub try_error: Option<TryError>,
    /// `rewrite`: the regexp and its replacement.
    pub rewrite: Option<(Regex, String)>,
    /// `precompressed`, in the spec's order.
    pub precompressed: Vec<Precompressed>,
    /// Whether `compress: gzip` is set.
    pub gzip: bool,
    /// The cache bounds.
    pub pool_size: u64,
    /// Largest file held in memory.
    pub max_file_size: u64,
    /// How long an entry lives.
    pub ttl: std::time::Duration,
    /// `Cache-Control` rules.
    pub cache_rules: Vec<CacheRule>,
}

fn non_negative(v: i64, default: u64, path: &str) -> Result<u64, SpecError> {
    match u64::try_from(v) {
        Ok(0) => Ok(default),
        Ok(n) => Ok(n),
        Err(_) => Err(SpecError::new(path, format!("{v} is negative"))),
    }
}

fn glob(pattern: &str, path: &str) -> Result<Glob, SpecError> {
    Glob::new(pattern).map_err(|e| SpecError::new(path, format!("{pattern:?}: {e}")))
}

/// Lexically cleans an absolute path (`.` and `..` removed, as Go's `filepath.Clean`).
pub fn clean_absolute(p: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for c in p.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::Normal(n) => out.push(n),
            _ => {}
        }
    }
    out
}

impl Config {
    /// Checks `s` and compiles it; errors name fields under `path`.
    pub fn compile(s: &FileServerSpec, path: &str) -> Result<Config, SpecError> {
        let at = |f: &str| join_path(path, f);
        if s.root.is_empty() {
            return Err(SpecError::new(at("root"), "required"));
        }
        let given = Path::new(&s.root);
        let absolute = if given.is_absolute() {
            given.to_path_buf()
        } else {
            std::env::current_dir()
                .map_err(|e| SpecError::new(at("root"), format!("no current directory: {e}")))?
                .join(given)
        };
        let root = clean_absolute(&absolute);
        let real_root = std::fs::canonicalize(&root)
            .map_err(|e| SpecError::new(at("root"), format!("{:?}: {e}", s.root)))?;
        if !real_root.is_dir() {
            return Err(SpecError::new(
                at("root"),
                format!("{:?} is not a directory", s.root),
            ));
        }

        let mut index = Vec::new();
        for (i, name) in s.index.iter().enumerate() {
            let bad = name.is_empty()
                || name.starts_with('/')
                || name.split('/').any(|c| c == "..")
                || name.contains('\0');
            if bad {
                return Err(SpecError::new(
                    at(&format!("index[{i}]")),
                    format!("{name:?} is not a file name under the directory"),
                ));
            }
            index.push(name.clone());
        }
        if index.is_empty() {
            index = DEFAULT_INDEX.iter().map(|s| s.to_string()).collect();
        }

        let mut hidden_components = Vec::new();
        let mut hidden_paths = Vec::new();
        for (i, h) in s.hidden.iter().enumerate() {
            let p = at(&format!("hidden[{i}]"));
            if h.is_empty() {
                return Err(SpecError::new(p, "empty pattern"));
            }
            if h.contains('/') {
                hidden_paths.push((h.trim_end_matches('/').to_string(), glob(h, &p)?));
            } else {
                hidden_components.push(glob(h, &p)?);
            }
        }

        let mut try_files = Vec::new();
        let mut try_error = None;
        for (i, t) in s.try_files.iter().enumerate() {
            let p = at(&format!("tryFiles[{i}]"));
            if let Some(rest) = t.strip_prefix('=') {
                try_error = Some(parse_try_error(rest, &p)?);
            } else if t.is_empty() {
                return Err(SpecError::new(p, "empty entry"));
            } else {
                try_files.push(TryFile::Path(t.clone()));
            }
        }

        let rewrite = if s.rewrite.is_empty() {
            None
        } else {
            let (from, to) = s.rewrite.split_once(' ').unwrap_or((&s.rewrite, ""));
            let re = Regex::new(from).map_err(|e| {
                SpecError::new(at("rewrite"), format!("invalid regexp {from:?}: {e}"))
            })?;
            Some((re, to.to_string()))
        };

        let mut precompressed = Vec::new();
        for token in s.precompressed.split(' ').filter(|t| !t.is_empty()) {
            let Some(p) = PRECOMPRESSED.iter().find(|p| p.encoding == token) else {
                return Err(SpecError::new(
                    at("precompressed"),
                    format!("{token:?} is not supported: use gzip and/or br"),
                ));
            };
            if !precompressed.contains(p) {
                precompressed.push(*p);
            }
        }

        let gzip = match s.compress.as_str() {
            "" => false,
            COMPRESS_GZIP => true,
            other => {
                return Err(SpecError::new(
                    at("compress"),
                    format!("invalid compress type {other:?}: only gzip"),
                ))
            }
        };

        let c = &s.cache;
        let pool_size = non_negative(
            c.buffer_pool_size,
            DEFAULT_BUFFER_POOL_SIZE,
            &at("cache.bufferPoolSize"),
        )?;
        let max_file_size = non_negative(
            c.buffer_pool_max_file_size,
            DEFAULT_BUFFER_POOL_MAX_FILE_SIZE,
            &at("cache.bufferPoolMaxFileSize"),
        )?;
        let ttl = non_negative(
            c.buffer_pool_ttl,
            DEFAULT_BUFFER_POOL_TTL_SECS,
            &at("cache.bufferPoolTTL"),
        )?;
        let mut cache_rules = Vec::new();
        for (i, f) in c.cache_file_extension_filters.iter().enumerate() {
            let fp = at(&format!("cache.cacheFileExtensionFilters[{i}]"));
            if f.extension.is_empty() {
                return Err(SpecError::new(join_path(&fp, "extension"), "required"));
            }
            let mut rule = CacheRule {
                name_patterns: Vec::new(),
                path_patterns: Vec::new(),
                max_age: u64::try_from(f.etag_max_age)
                    .ok()
                    .filter(|a| *a > 0)
                    .unwrap_or(DEFAULT_ETAG_MAX_AGE),
            };
            for (j, pat) in f.extension.iter().enumerate() {
                let pp = join_path(&fp, &format!("extension[{j}]"));
                if pat.is_empty() {
                    return Err(SpecError::new(pp, "empty pattern"));
                }
                if pat.contains('/') {
                    let anchored = if pat.starts_with('/') {
                        pat.clone()
                    } else {
                        format!("/{pat}")
                    };
                    rule.path_patterns.push(glob(&anchored, &pp)?);
                } else {
                    rule.name_patterns.push(glob(pat, &pp)?);
                }
            }
            cache_rules.push(rule);
        }

        Ok(Config {
            root,
            real_root,
            index,
            hidden_components,
            hidden_paths,
            try_files,
            try_error,
            rewrite,
            precompressed,
            gzip,
            pool_size,
            max_file_size,
            ttl: std::time::Duration::from_secs(ttl),
            cache_rules,
        })
    }
}

/// `=<code> [message]` (after the `=`); the message defaults to the code.
fn parse_try_error(rest: &str, path: &str) -> Result<TryError, SpecError> {
    let rest = rest.trim();
    let (code, message) = rest.split_once(' ').unwrap_or((rest, rest));
    let n: i64 = code.parse().map_err(|_| {
        SpecError::new(
            path,
            format!("{code:?} is not a status code: write =<code> [message]"),
        )
    })?;
    let status = crate::spec::status_code(n, path)?;
    if status.is_informational() {
        return Err(SpecError::new(
            path,
            format!("{n} is not a final status: use 200-599"),
        ));
    }
    Ok(TryError {
        status,
        message: message.to_string(),
    })
}
