//! `path` of `RequestAdaptor` (Easegress's `pathadaptor`).

use eg_spec::error::join_path;
use eg_spec::SpecError;
use regex::Regex;
use serde::Deserialize;

/// How to rewrite the path: the first non-empty of `replace`, `addPrefix`, `trimPrefix`,
/// `regexpReplace` applies. The path is the one received, still percent-encoded.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PathAdaptSpec {
    /// Replace the whole path.
    #[serde(default)]
    pub replace: String,
    /// Put this in front of the path (must start with `/`).
    #[serde(default)]
    pub add_prefix: String,
    /// Remove this prefix when the path has it (must start with `/`).
    #[serde(default)]
    pub trim_prefix: String,
    /// Replace every match of a regular expression.
    #[serde(default)]
    pub regexp_replace: Option<RegexpReplaceSpec>,
}

/// `regexpReplace`: `regexp` (RE2 syntax, required) and its `replace`ment (`$1`, `${name}`).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegexpReplaceSpec {
    /// The expression.
    #[serde(default)]
    pub regexp: String,
    /// The replacement; `$1` / `${1}` refer to groups.
    #[serde(default)]
    pub replace: String,
}

/// A checked [`PathAdaptSpec`].
#[derive(Debug, Clone)]
pub enum PathAdaptor {
    /// Leave the path alone.
    Keep,
    /// Replace it.
    Replace(String),
    /// Prefix it.
    AddPrefix(String),
    /// Trim a prefix.
    TrimPrefix(String),
    /// Regular-expression replacement.
    Regexp(Regex, String),
}

impl PathAdaptor {
    /// Checks the spec; errors name `path.<field>`. `strict` also requires the prefixes to
    /// start with `/` (the static spec's schema; template output is not held to it).
    pub fn compile(
        spec: &PathAdaptSpec,
        path: &str,
        strict: bool,
    ) -> Result<PathAdaptor, SpecError> {
        for (field, v) in [
            ("addPrefix", &spec.add_prefix),
            ("trimPrefix", &spec.trim_prefix),
        ] {
            if strict && !v.is_empty() && !v.starts_with('/') {
                return Err(SpecError::new(
                    join_path(path, field),
                    format!("{v:?} must start with /"),
                ));
            }
        }
        if !spec.replace.is_empty() {
            return Ok(PathAdaptor::Replace(spec.replace.clone()));
        }
        if !spec.add_prefix.is_empty() {
            return Ok(PathAdaptor::AddPrefix(spec.add_prefix.clone()));
        }
        if !spec.trim_prefix.is_empty() {
            return Ok(PathAdaptor::TrimPrefix(spec.trim_prefix.clone()));
        }
        if let Some(r) = &spec.regexp_replace {
            let at = join_path(&join_path(path, "regexpReplace"), "regexp");
            if r.regexp.is_empty() {
                return Err(SpecError::new(at, "regexp is required"));
            }
            let re = Regex::new(&r.regexp)
                .map_err(|e| SpecError::new(at, format!("invalid regexp: {e}")))?;
            return Ok(PathAdaptor::Regexp(re, r.replace.clone()));
        }
        Ok(PathAdaptor::Keep)
    }

    /// The adapted path.
    pub fn adapt(&self, path: &str) -> String {
        match self {
            PathAdaptor::Keep => path.to_string(),
            PathAdaptor::Replace(p) => p.clone(),
            PathAdaptor::AddPrefix(p) => format!("{p}{path}"),
            PathAdaptor::TrimPrefix(p) => path.strip_prefix(p.as_str()).unwrap_or(path).to_string(),
            PathAdaptor::Regexp(re, rep) => re.replace_all(path, rep.as_str()).into_owned(),
        }
    }
}

/// Percent-encodes what may not appear in a path (including `?` and `#`).
pub(crate) fn escape_path(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/%".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pa(spec: PathAdaptSpec) -> PathAdaptor {
        PathAdaptor::compile(&spec, "path", true).unwrap()
    }

    #[test]
    fn first_set_rule_wins() {
        let p = pa(PathAdaptSpec {
            replace: "/r".into(),
            add_prefix: "/x".into(),
            ..Default::default()
        });
        assert_eq!(p.adapt("/a"), "/r");
        let p = pa(PathAdaptSpec {
            add_prefix: "/v1".into(),
            ..Default::default()
        });
        assert_eq!(p.adapt("/a"), "/v1/a");
        let p = pa(PathAdaptSpec {
            trim_prefix: "/api".into(),
            ..Default::default()
        });
        assert_eq!(p.adapt("/api/a"), "/a");
        assert_eq!(p.adapt("/other"), "/other");
        let p = pa(PathAdaptSpec {
            regexp_replace: Some(RegexpReplaceSpec {
                regexp: r"^/(\w+)/(\w+)$".into(),
                replace: "/$2/${1}".into(),
            }),
            ..Default::default()
        });
        assert_eq!(p.adapt("/a/b"), "/b/a");
    }

    #[test]
    fn bad_specs_name_the_field() {
        let e = PathAdaptor::compile(
            &PathAdaptSpec {
                add_prefix: "v1".into(),
                ..Default::default()
            },
            "filters[0].path",
            true,
        )
        .unwrap_err();
        assert_eq!(e.path, "filters[0].path.addPrefix");
        let e = PathAdaptor::compile(
            &PathAdaptSpec {
                regexp_replace: Some(RegexpReplaceSpec {
                    regexp: "(".into(),
                    replace: String::new(),
                }),
                ..Default::default()
            },
            "filters[0].path",
            true,
        )
        .unwrap_err();
        assert_eq!(e.path, "filters[0].path.regexpReplace.regexp");
        assert_eq!(escape_path("/a b?c#d"), "/a%20b%3Fc%23d");
    }
}
