//! Where a crate comes from (a local path or a git repository) and how Cargo is told so.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};

/// The easegress-rs crates a plugin crate depends on.
pub const PLUGIN_CRATES: &[&str] = &[
    "easegress-server",
    "eg-filters",
    "eg-protocols",
    "eg-spec",
    "eg-supervisor",
];

/// The easegress-rs crates a plugin crate's tests use.
pub const PLUGIN_TEST_CRATES: &[&str] = &["eg-store"];

/// Every easegress-rs crate `easegress-server` and `egctl` are built from. They compile
/// unoptimised in a dev build, as members of their own workspace do (a unit test keeps this
/// list equal to that workspace's members).
pub const EASEGRESS_CRATES: &[&str] = &[
    "easegress-server",
    "eg-api",
    "eg-cluster",
    "eg-filters",
    "eg-handover",
    "eg-objects",
    "eg-profile",
    "eg-protocols",
    "eg-spec",
    "eg-store",
    "eg-supervisor",
    "eg-template",
    "eg-tls",
    "eg-tracing",
    "eg-upstream",
    "eg-wasmhost",
    "egctl",
];

/// `path`, or `git` with an optional `rev`, as written in `build.yaml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceSpec {
    /// A local checkout (relative to the file that names it).
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// A git repository URL.
    #[serde(default)]
    pub git: Option<String>,
    /// The commit, tag or branch of `git`. Default: the default branch.
    #[serde(default)]
    pub rev: Option<String>,
}

/// A resolved source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A local directory (absolute).
    Path(PathBuf),
    /// A git repository and revision.
    Git {
        /// The URL.
        url: String,
        /// The revision, if pinned.
        rev: Option<String>,
    },
}

impl SourceSpec {
    /// The source this spec names, with a relative `path` taken from `base`; `what` names
    /// the field in errors.
    pub fn resolve(&self, base: &Path, what: &str) -> std::result::Result<Source, String> {
        match (&self.path, &self.git) {
            (Some(p), None) => {
                if self.rev.is_some() {
                    return Err(format!("{what}.rev: only with git"));
                }
                Ok(Source::Path(absolute(base, p)))
            }
            (None, Some(url)) if !url.trim().is_empty() => Ok(Source::Git {
                url: url.clone(),
                rev: self.rev.clone(),
            }),
            (None, Some(_)) => Err(format!("{what}.git: empty URL")),
            (Some(_), Some(_)) => Err(format!("{what}: path and git are exclusive")),
            (None, None) => Err(format!("{what}: path or git is required")),
        }
    }
}

/// `p` made absolute against `base` (without touching the file system).
pub fn absolute(base: &Path, p: &Path) -> PathBuf {
    let joined = base.join(p);
    let mut out = PathBuf::new();
    for part in joined.components() {
        match part {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

impl Source {
    /// The easegress-rs checkout egbuilder was built from, if it is still there: the default
    /// source of a new plugin crate.
    pub fn built_from() -> Option<Source> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let root = absolute(Path::new("/"), &root);
        root.join("crates/easegress-server/Cargo.toml")
            .is_file()
            .then_some(Source::Path(root))
    }

    /// A dependency line on easegress-rs crate `name` of this checkout or repository.
    pub fn easegress_dependency(&self, name: &str) -> String {
        match self {
            Source::Path(root) => {
                let dir = root.join("crates").join(name);
                format!(
                    "{name} = {{ path = {} }}",
                    toml_string(&dir.display().to_string())
                )
            }
            Source::Git { .. } => format!("{name} = {}", self.git_table()),
        }
    }

    /// A dependency line on the crate `name` at this source (its root).
    pub fn crate_dependency(&self, name: &str) -> String {
        match self {
            Source::Path(dir) => {
                format!(
                    "{name} = {{ path = {} }}",
                    toml_string(&dir.display().to_string())
                )
            }
            Source::Git { .. } => format!("{name} = {}", self.git_table()),
        }
    }

    fn git_table(&self) -> String {
        match self {
            Source::Git {
                url,
                rev: Some(rev),
            } => {
                format!(
                    "{{ git = {}, rev = {} }}",
                    toml_string(url),
                    toml_string(rev)
                )
            }
            Source::Git { url, rev: None } => format!("{{ git = {} }}", toml_string(url)),
            Source::Path(_) => String::new(),
        }
    }

    /// The `path:` or `git:`/`rev:` lines of `build.yaml`, indented by two spaces.
    pub fn yaml(&self) -> String {
        match self {
            Source::Path(p) => format!("  path: {}", yaml_string(&p.display().to_string())),
            Source::Git { url, rev } => {
                let mut s = format!("  git: {}", yaml_string(url));
                if let Some(rev) = rev {
                    s.push_str(&format!("\n  rev: {}", yaml_string(rev)));
                }
                s
            }
        }
    }

    /// The lock file of a local checkout, to start a build from the versions it was tested
    /// with.
    pub fn lock_file(&self) -> Option<PathBuf> {
        match self {
            Source::Path(root) => Some(root.join("Cargo.lock")).filter(|p| p.is_file()),
            Source::Git { .. } => None,
        }
    }
}

/// A TOML basic string.
pub fn toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A YAML double-quoted string (JSON escaping is valid YAML).
pub fn yaml_string(s: &str) -> String {
    toml_string(s)
}

/// Parses `--easegress-path` / `--easegress-git` / `--easegress-rev` of `init`.
pub fn from_flags(path: Option<&Path>, git: Option<&str>, rev: Option<&str>) -> Result<Source> {
    let cwd = std::env::current_dir().map_err(|e| Error::io(".", e))?;
    let spec = SourceSpec {
        path: path.map(Path::to_path_buf),
        git: git.map(str::to_string),
        rev: rev.map(str::to_string),
    };
    if spec.path.is_none() && spec.git.is_none() {
        if spec.rev.is_some() {
            return Err(Error::Usage("--easegress-rev needs --easegress-git".into()));
        }
        return Source::built_from().ok_or_else(|| {
            Error::Usage(
                "where is easegress-rs? give --easegress-path DIR or --easegress-git URL".into(),
            )
        });
    }
    spec.resolve(&cwd, "easegress").map_err(Error::Usage)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dependencies_name_the_source() {
        let path = Source::Path(PathBuf::from("/src/eg"));
        assert_eq!(
            path.easegress_dependency("eg-spec"),
            r#"eg-spec = { path = "/src/eg/crates/eg-spec" }"#
        );
        let git = Source::Git {
            url: "https://example.com/eg.git".into(),
            rev: Some("abc".into()),
        };
        assert_eq!(
            git.easegress_dependency("eg-spec"),
            r#"eg-spec = { git = "https://example.com/eg.git", rev = "abc" }"#
        );
        assert_eq!(toml_string(r#"a"b\c"#), r#""a\"b\\c""#);
    }

    #[test]
    fn specs_resolve_against_their_file() {
        let spec = SourceSpec {
            path: Some("../eg".into()),
            ..Default::default()
        };
        let got = spec.resolve(Path::new("/home/me/plugin"), "easegress");
        assert_eq!(got, Ok(Source::Path("/home/me/eg".into())));
        let both = SourceSpec {
            path: Some("x".into()),
            git: Some("y".into()),
            rev: None,
        };
        assert!(both.resolve(Path::new("/"), "easegress").is_err());
        assert!(SourceSpec::default()
            .resolve(Path::new("/"), "easegress")
            .is_err());
    }

    /// The list stays equal to the workspace's members (but the test kit and egbuilder).
    #[test]
    fn the_crate_list_matches_the_workspace() {
        let manifest = include_str!("../../../Cargo.toml");
        let mut members: Vec<&str> = manifest
            .lines()
            .filter_map(|l| l.trim().strip_prefix("\"crates/"))
            .filter_map(|l| l.split('"').next())
            .filter(|m| !["eg-testkit", "egbuilder"].contains(m))
            .collect();
        members.sort_unstable();
        assert_eq!(members, EASEGRESS_CRATES);
    }
}
