//! Names: kinds as Easegress's egbuilder accepts them, the Rust module of a kind, crate names.

use crate::error::{Error, Result};

/// Words a kind's module name must not be (`Self` would become `self`).
const RUST_KEYWORDS: &[&str] = &[
    "as", "async", "await", "box", "break", "const", "continue", "crate", "dyn", "else", "enum",
    "extern", "false", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod",
    "move", "mut", "pub", "ref", "return", "self", "static", "struct", "super", "trait", "true",
    "try", "type", "unsafe", "use", "where", "while", "yield",
];

/// Checks a filter or controller kind name (`what` says which, for the message).
///
/// Easegress's egbuilder takes a kind name as a Go identifier starting with an upper-case
/// letter; here it is also a Rust type name, so it is ASCII: an upper-case letter, then
/// letters, digits or `_`.
pub fn check_kind(name: &str, what: &str) -> Result<()> {
    let mut chars = name.chars();
    let starts_upper = chars.next().is_some_and(|c| c.is_ascii_uppercase());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !starts_upper || !rest_ok {
        return Err(Error::Usage(format!(
            "{what} {name:?} is not a valid kind name: it starts with an upper-case letter \
             followed by letters, digits or '_' (ASCII)"
        )));
    }
    let module = module_name(name);
    if RUST_KEYWORDS.contains(&module.as_str()) {
        return Err(Error::Usage(format!(
            "{what} {name:?} would be the Rust module {module:?}, a keyword"
        )));
    }
    Ok(())
}

/// The module of kind `kind`: snake case (`MyFilter1` → `my_filter1`, `HTTPTagger` →
/// `http_tagger`).
pub fn module_name(kind: &str) -> String {
    let chars: Vec<char> = kind.chars().collect();
    let mut out = String::with_capacity(kind.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            let boundary = prev.is_ascii_lowercase()
                || prev.is_ascii_digit()
                || (prev.is_ascii_uppercase() && next_lower);
            if boundary && !out.ends_with('_') {
                out.push('_');
            }
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// The crate name of `--repo`: the name itself, or the last segment of a repository path
/// such as `github.com/me/my-filters`. It must be a Cargo package name.
pub fn crate_name(repo: &str) -> Result<String> {
    let name = repo
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(repo);
    check_crate(name)?;
    Ok(name.to_string())
}

/// Checks a Cargo package name: an ASCII letter, then letters, digits, `-` or `_`.
pub fn check_crate(name: &str) -> Result<()> {
    let mut chars = name.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !ok {
        return Err(Error::Usage(format!(
            "{name:?} is not a valid crate name: an ASCII letter followed by letters, digits, \
             '-' or '_'"
        )));
    }
    Ok(())
}

/// The Rust name of crate `name` (`my-filters` → `my_filters`).
pub fn crate_ident(name: &str) -> String {
    name.replace('-', "_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_names_follow_easegress() {
        for ok in ["MyFilter1", "A", "My_Filter", "HTTPTagger"] {
            assert!(check_kind(ok, "filter").is_ok(), "{ok}");
        }
        for bad in [
            "",
            "myFilter",
            "1Filter",
            "My-Filter",
            "My Filter",
            "Émile",
            "Self",
        ] {
            assert!(check_kind(bad, "filter").is_err(), "{bad}");
        }
    }

    #[test]
    fn modules_are_snake_case() {
        assert_eq!(module_name("MyFilter1"), "my_filter1");
        assert_eq!(module_name("MyController12"), "my_controller12");
        assert_eq!(module_name("HTTPTagger"), "http_tagger");
        assert_eq!(module_name("My_Filter"), "my_filter");
        assert_eq!(module_name("Audit2Log"), "audit2_log");
    }

    #[test]
    fn crate_names_come_from_the_repo() {
        assert_eq!(crate_name("github.com/test/repo").ok(), Some("repo".into()));
        assert_eq!(crate_name("my-filters").ok(), Some("my-filters".into()));
        assert!(crate_name("github.com/x/1bad").is_err());
        assert!(crate_name("").is_err());
        assert_eq!(crate_ident("my-filters"), "my_filters");
    }
}
