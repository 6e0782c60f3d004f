//! Validation errors that name the field at fault.

use std::fmt;

/// A spec problem: the dotted/indexed path of the field and what is wrong with it.
///
/// Displayed as `path: message` (or just `message` when the path is empty), which is the
/// text the admin API returns in `{"code":400,"message":...}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    /// Field path such as `filters[0].pools[1].servers[0].url`; empty for the document itself.
    pub path: String,
    /// What is wrong, in words a user can act on.
    pub message: String,
}

/// Result type of spec parsing and validation.
pub type SpecResult<T> = Result<T, SpecError>;

impl SpecError {
    /// An error about the field at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        SpecError {
            path: path.into(),
            message: message.into(),
        }
    }

    /// An error about the whole document.
    pub fn doc(message: impl Into<String>) -> Self {
        SpecError::new("", message)
    }

    /// Prefixes the path with `prefix` (`prefix.path`, or `prefix[..]` when the path starts
    /// with an index), used when a nested spec is validated on its own and then placed in
    /// its parent.
    pub fn within(mut self, prefix: &str) -> Self {
        if prefix.is_empty() {
            return self;
        }
        self.path = join_path(prefix, &self.path);
        self
    }
}

/// Joins a parent path and a child path (`a` + `b` → `a.b`, `a` + `[0].b` → `a[0].b`).
pub fn join_path(parent: &str, child: &str) -> String {
    if parent.is_empty() {
        child.to_string()
    } else if child.is_empty() {
        parent.to_string()
    } else if child.starts_with('[') {
        format!("{parent}{child}")
    } else {
        format!("{parent}.{child}")
    }
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for SpecError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_nesting() {
        let e = SpecError::new("url", "missing scheme").within("servers[0]");
        assert_eq!(e.to_string(), "servers[0].url: missing scheme");
        let e = SpecError::new("[2].name", "bad").within("filters");
        assert_eq!(e.to_string(), "filters[2].name: bad");
        assert_eq!(SpecError::doc("empty").to_string(), "empty");
    }
}
