//! The `Origin` check of a WebSocket handshake, as nhooyr's `websocket.Accept` (which
//! Easegress uses) does it: a request without `Origin` passes; an `Origin` whose host is the
//! request's `Host` passes; otherwise one of `originPatterns` must match the origin's host
//! (or the whole origin, when the pattern has a scheme), as a case-insensitive glob with
//! `*`, `?` and `[...]` (Go's `path.Match`).

use eg_spec::SpecError;

/// The compiled `originPatterns` of a pool.
#[derive(Debug, Clone, Default)]
pub struct OriginPolicy {
    patterns: Vec<Pattern>,
}

#[derive(Debug, Clone)]
struct Pattern {
    /// Lower-cased glob.
    glob: String,
    /// Whether the glob is matched against the whole origin (`scheme://host`) rather than
    /// its host.
    with_scheme: bool,
}

impl OriginPolicy {
    /// Compiles `patterns`; a malformed glob is an error at `path[i]`.
    pub fn compile(patterns: &[String], path: &str) -> Result<OriginPolicy, SpecError> {
        let mut out = Vec::with_capacity(patterns.len());
        for (i, p) in patterns.iter().enumerate() {
            let glob = p.to_ascii_lowercase();
            if glob_match(&glob, "").is_err() {
                return Err(SpecError::new(
                    format!("{path}[{i}]"),
                    format!("invalid origin pattern {p:?}"),
                ));
            }
            out.push(Pattern {
                with_scheme: glob.contains("://"),
                glob,
            });
        }
        Ok(OriginPolicy { patterns: out })
    }

    /// Whether a handshake with `origin` (the header, if any) for `host` (the request's
    /// `Host`, with port) is authorised. `Err` says why not.
    pub fn authorize(&self, origin: Option<&str>, host: &str) -> Result<(), String> {
        let Some(origin) = origin.filter(|o| !o.is_empty()) else {
            return Ok(());
        };
        let Some(origin_host) = origin_host(origin) else {
            return Err(format!(
                "request Origin {origin:?} is not a valid URL with a host"
            ));
        };
        if origin_host.eq_ignore_ascii_case(host) {
            return Ok(());
        }
        let origin_lc = origin.to_ascii_lowercase();
        let host_lc = origin_host.to_ascii_lowercase();
        for p in &self.patterns {
            let target = if p.with_scheme { &origin_lc } else { &host_lc };
            if glob_match(&p.glob, target) == Ok(true) {
                return Ok(());
            }
        }
        Err(format!(
            "request Origin {origin:?} is not authorized for Host {host:?}"
        ))
    }
}

/// The host (with port) of an origin `scheme://host[:port]`; `None` when there is none.
fn origin_host(origin: &str) -> Option<&str> {
    let (_, rest) = origin.split_once("://")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    (!host.is_empty()).then_some(host)
}

/// Go's `path.Match` over bytes: `*` (any run without `/`), `?` (one byte but `/`),
/// `[...]`/`[^...]` classes with ranges, `\` escapes. `Err` for a malformed pattern.
fn glob_match(pattern: &str, name: &str) -> Result<bool, ()> {
    let p = pattern.as_bytes();
    let n = name.as_bytes();
    // Validate the whole pattern first, so that a bad pattern fails whatever the name.
    validate(p)?;
    Ok(match_from(p, n))
}

fn validate(p: &[u8]) -> Result<(), ()> {
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            b'\\' => {
                if i + 1 >= p.len() {
                    return Err(());
                }
                i += 2;
            }
            b'[' => {
                i = class_end(p, i)?;
            }
            _ => i += 1,
        }
    }
    Ok(())
}

/// The index after the class starting at `p[start] == b'['`.
fn class_end(p: &[u8], start: usize) -> Result<usize, ()> {
    let mut i = start + 1;
    if i < p.len() && p[i] == b'^' {
        i += 1;
    }
    let mut first = true;
    loop {
        if i >= p.len() {
            return Err(());
        }
        if p[i] == b']' && !first {
            return Ok(i + 1);
        }
        first = false;
        // lo
        i = class_char(p, i)?;
        if i < p.len() && p[i] == b'-' {
            i = class_char(p, i + 1)?;
        }
    }
}

/// The index after one class character at `i` (escaped or not); `]` alone is not one.
fn class_char(p: &[u8], i: usize) -> Result<usize, ()> {
    match p.get(i) {
        None | Some(b'-') | Some(b']') => Err(()),
        Some(b'\\') => {
            if i + 1 < p.len() {
                Ok(i + 2)
            } else {
                Err(())
            }
        }
        Some(_) => Ok(i + 1),
    }
}

fn char_at(p: &[u8], i: usize) -> (u8, usize) {
    if p[i] == b'\\' {
        (p[i + 1], i + 2)
    } else {
        (p[i], i + 1)
    }
}

fn class_matches(p: &[u8], start: usize, c: u8) -> (bool, usize) {
    let mut i = start + 1;
    let negated = p.get(i) == Some(&b'^');
    if negated {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    while i < p.len() && (p[i] != b']' || first) {
        first = false;
        let (lo, next) = char_at(p, i);
        i = next;
        let mut hi = lo;
        if i < p.len() && p[i] == b'-' {
            let (h, next) = char_at(p, i + 1);
            hi = h;
            i = next;
        }
        if lo <= c && c <= hi {
            matched = true;
        }
    }
    (matched != negated, i + 1)
}

fn match_from(p: &[u8], n: &[u8]) -> bool {
    let (mut pi, mut ni) = (0, 0);
    // Backtracking point for the last `*`: (pattern index after it, name index).
    let mut star: Option<(usize, usize)> = None;
    loop {
        if pi < p.len() {
            match p[pi] {
                b'*' => {
                    star = Some((pi + 1, ni));
                    pi += 1;
                    continue;
                }
                b'?' if ni < n.len() && n[ni] != b'/' => {
                    pi += 1;
                    ni += 1;
                    continue;
                }
                b'[' if ni < n.len() => {
                    let (ok, next) = class_matches(p, pi, n[ni]);
                    if ok {
                        pi = next;
                        ni += 1;
                        continue;
                    }
                }
                b'?' | b'[' => {}
                _ => {
                    let (c, next) = char_at(p, pi);
                    if ni < n.len() && n[ni] == c {
                        pi = next;
                        ni += 1;
                        continue;
                    }
                }
            }
        } else if ni == n.len() {
            return true;
        }
        // Mismatch: let the last `*` take one more byte (never a `/`).
        match star {
            Some((sp, sn)) if sn < n.len() && n[sn] != b'/' => {
                star = Some((sp, sn + 1));
                pi = sp;
                ni = sn + 1;
            }
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(p: &[&str]) -> OriginPolicy {
        let v: Vec<String> = p.iter().map(|s| s.to_string()).collect();
        OriginPolicy::compile(&v, "originPatterns").unwrap()
    }

    #[test]
    fn same_host_and_missing_origin_pass() {
        let p = policy(&[]);
        assert!(p.authorize(None, "a.com").is_ok());
        assert!(p.authorize(Some("http://A.com"), "a.com").is_ok());
        assert!(p.authorize(Some("http://b.com"), "a.com").is_err());
        assert!(p.authorize(Some("nonsense"), "a.com").is_err());
    }

    #[test]
    fn patterns_match_hosts_or_whole_origins() {
        let p = policy(&["*.example.com", "https://trusted.org"]);
        assert!(p.authorize(Some("http://app.Example.com"), "gw").is_ok());
        assert!(p.authorize(Some("http://example.com"), "gw").is_err());
        assert!(p.authorize(Some("https://trusted.org"), "gw").is_ok());
        assert!(p.authorize(Some("http://trusted.org"), "gw").is_err());
        let q = policy(&["host:80[0-9]", "h?st"]);
        assert!(q.authorize(Some("http://host:805"), "gw").is_ok());
        assert!(q.authorize(Some("http://host:81"), "gw").is_err());
        assert!(q.authorize(Some("http://hast"), "gw").is_ok());
    }

    #[test]
    fn malformed_patterns_are_refused() {
        for bad in ["[", "a[b", "x\\", "[]"] {
            let v = vec![bad.to_string()];
            let e = OriginPolicy::compile(&v, "p.originPatterns").unwrap_err();
            assert_eq!(e.path, "p.originPatterns[0]");
        }
    }
}
