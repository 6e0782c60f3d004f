//! Easegress's `StringMatcher`: `exact`, `prefix`, `regex` (any may match) or `empty`.

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::error::SpecError;

/// The YAML form of a string matcher.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StringMatcherSpec {
    /// Matches a value equal to this string.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub exact: String,
    /// Matches a value starting with this string.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub prefix: String,
    /// Matches a value the RE2-style expression finds a match in.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub regex: String,
    /// Matches a missing or empty value; cannot be combined with the others.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub empty: bool,
}

/// A compiled string matcher.
#[derive(Debug, Clone)]
pub struct StringMatcher {
    exact: Option<String>,
    prefix: Option<String>,
    regex: Option<Regex>,
    empty: bool,
}

impl StringMatcherSpec {
    /// Validates and compiles the matcher; errors name `path`.
    pub fn compile(&self, path: &str) -> Result<StringMatcher, SpecError> {
        if self.empty {
            if !self.exact.is_empty() || !self.prefix.is_empty() || !self.regex.is_empty() {
                return Err(SpecError::new(
                    path,
                    "empty is set, so exact, prefix and regex must be empty",
                ));
            }
        } else if self.exact.is_empty() && self.prefix.is_empty() && self.regex.is_empty() {
            return Err(SpecError::new(
                path,
                "all patterns are empty: set exact, prefix, regex or empty",
            ));
        }
        let regex = if self.regex.is_empty() {
            None
        } else {
            Some(Regex::new(&self.regex).map_err(|e| {
                SpecError::new(
                    crate::error::join_path(path, "regex"),
                    format!("invalid regexp: {e}"),
                )
            })?)
        };
        Ok(StringMatcher {
            exact: (!self.exact.is_empty()).then(|| self.exact.clone()),
            prefix: (!self.prefix.is_empty()).then(|| self.prefix.clone()),
            regex,
            empty: self.empty,
        })
    }
}

impl StringMatcher {
    /// True when `value` satisfies any of the configured patterns.
    pub fn matches(&self, value: &str) -> bool {
        if self.empty {
            return value.is_empty();
        }
        if let Some(e) = &self.exact {
            if e == value {
                return true;
            }
        }
        if let Some(p) = &self.prefix {
            if value.starts_with(p.as_str()) {
                return true;
            }
        }
        if let Some(r) = &self.regex {
            if r.is_match(value) {
                return true;
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(exact: &str, prefix: &str, regex: &str, empty: bool) -> StringMatcherSpec {
        StringMatcherSpec {
            exact: exact.into(),
            prefix: prefix.into(),
            regex: regex.into(),
            empty,
        }
    }

    #[test]
    fn any_pattern_matches() {
        let m = spec("abc", "/api", "^v[0-9]+$", false)
            .compile("m")
            .unwrap();
        assert!(m.matches("abc"));
        assert!(m.matches("/api/x"));
        assert!(m.matches("v12"));
        assert!(!m.matches("xyz"));
    }

    #[test]
    fn empty_matches_only_empty() {
        let m = spec("", "", "", true).compile("m").unwrap();
        assert!(m.matches(""));
        assert!(!m.matches("a"));
    }

    #[test]
    fn bad_specs_name_the_field() {
        assert_eq!(
            spec("", "", "", false)
                .compile("headers.X")
                .unwrap_err()
                .path,
            "headers.X"
        );
        assert_eq!(spec("a", "", "", true).compile("h").unwrap_err().path, "h");
        assert_eq!(
            spec("", "", "(", false).compile("h").unwrap_err().path,
            "h.regex"
        );
    }
}
