//! `build.yaml`: which easegress-rs, which plugin crates, where the binaries go.
//!
//! ```yaml
//! easegress:
//!   path: ../easegress-rs        # or git: URL (and rev: REV)
//! plugins:
//!   - name: my-filters           # the crate name
//!     path: .                    # or git: URL (and rev: REV)
//! output: ./bin                  # default: the directory of build.yaml
//! profile: release               # default: release
//! ```
//!
//! Relative paths are relative to the file.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{read, Error, Result};
use crate::names::check_crate;
use crate::source::{absolute, Source, SourceSpec};

/// The Cargo profile used when none is given.
pub const DEFAULT_PROFILE: &str = "release";
/// Where the generated server workspace lives, below the directory of `build.yaml`.
pub const WORK_DIR: &str = ".egbuilder/server";

/// `build.yaml` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BuildFile {
    easegress: SourceSpec,
    #[serde(default)]
    plugins: Vec<PluginSpec>,
    #[serde(default)]
    output: Option<PathBuf>,
    #[serde(default)]
    profile: Option<String>,
}

/// One entry of `plugins`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PluginSpec {
    name: String,
    #[serde(default)]
    path: Option<PathBuf>,
    #[serde(default)]
    git: Option<String>,
    #[serde(default)]
    rev: Option<String>,
}

/// A plugin crate of a build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plugin {
    /// The crate name.
    pub name: String,
    /// Where it is.
    pub source: Source,
}

/// A checked build.
#[derive(Debug, Clone)]
pub struct BuildConfig {
    /// The easegress-rs the server is built from.
    pub easegress: Source,
    /// The plugin crates, registered in this order.
    pub plugins: Vec<Plugin>,
    /// Where `easegress-server` and `egctl` are put.
    pub output: PathBuf,
    /// The Cargo profile.
    pub profile: String,
    /// The generated server workspace.
    pub work_dir: PathBuf,
}

impl BuildConfig {
    /// Reads and checks `file`.
    pub fn load(file: &Path) -> Result<BuildConfig> {
        let cwd = std::env::current_dir().map_err(|e| Error::io(".", e))?;
        let file = absolute(&cwd, file);
        let text = read(&file)?;
        BuildConfig::parse(&text, &file).map_err(|message| Error::Config {
            path: file.clone(),
            message,
        })
    }

    /// Checks the text of `build.yaml` at `file` (absolute).
    pub fn parse(text: &str, file: &Path) -> std::result::Result<BuildConfig, String> {
        let raw: BuildFile = serde_saphyr::from_str(text).map_err(|e| e.to_string())?;
        let base = file.parent().unwrap_or(Path::new("/"));
        let easegress = raw.easegress.resolve(base, "easegress")?;
        let mut plugins: Vec<Plugin> = Vec::with_capacity(raw.plugins.len());
        for (i, p) in raw.plugins.into_iter().enumerate() {
            let at = format!("plugins[{i}]");
            check_crate(&p.name).map_err(|e| format!("{at}.name: {e}"))?;
            if plugins.iter().any(|q| q.name == p.name) {
                return Err(format!("{at}.name: {} is listed twice", p.name));
            }
            let spec = SourceSpec {
                path: p.path,
                git: p.git,
                rev: p.rev,
            };
            let source = spec.resolve(base, &at)?;
            plugins.push(Plugin {
                name: p.name,
                source,
            });
        }
        let profile = raw.profile.unwrap_or_else(|| DEFAULT_PROFILE.to_string());
        check_profile(&profile).map_err(|e| format!("profile: {e}"))?;
        Ok(BuildConfig {
            easegress,
            plugins,
            output: raw
                .output
                .map_or_else(|| base.to_path_buf(), |o| absolute(base, &o)),
            profile,
            work_dir: base.join(WORK_DIR),
        })
    }

    /// The directory of the profile's binaries below a target directory.
    pub fn profile_dir(&self) -> &str {
        match self.profile.as_str() {
            "dev" | "test" => "debug",
            "bench" => "release",
            other => other,
        }
    }
}

/// Checks a Cargo profile name.
pub fn check_profile(profile: &str) -> std::result::Result<(), String> {
    let ok = !profile.is_empty()
        && profile
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!("{profile:?} is not a Cargo profile name"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "/home/me/plugin/build.yaml";

    #[test]
    fn reads_a_build_file() {
        let text = "easegress:\n  path: ../eg\nplugins:\n  - name: repo\n    path: .\n  - name: other\n    git: https://example.com/o.git\n    rev: v1\noutput: out\n";
        let c = BuildConfig::parse(text, Path::new(FILE)).expect("valid");
        assert_eq!(c.easegress, Source::Path("/home/me/eg".into()));
        assert_eq!(c.plugins[0].source, Source::Path("/home/me/plugin".into()));
        assert_eq!(
            c.plugins[1].source,
            Source::Git {
                url: "https://example.com/o.git".into(),
                rev: Some("v1".into())
            }
        );
        assert_eq!(c.output, PathBuf::from("/home/me/plugin/out"));
        assert_eq!(c.profile, "release");
        assert_eq!(c.profile_dir(), "release");
        assert_eq!(
            c.work_dir,
            PathBuf::from("/home/me/plugin/.egbuilder/server")
        );
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            ("plugins: []\n", "easegress"),
            ("easegress: {}\n", "easegress: path or git"),
            (
                "easegress: {path: .}\nplugins: [{name: 1x, path: .}]\n",
                "plugins[0].name",
            ),
            (
                "easegress: {path: .}\nplugins: [{name: a}]\n",
                "plugins[0]: path or git",
            ),
            (
                "easegress: {path: .}\nplugins: [{name: a, path: .}, {name: a, path: b}]\n",
                "plugins[1].name",
            ),
            ("easegress: {path: ., rev: x}\n", "easegress.rev"),
            ("easegress: {path: .}\nprofile: 'a b'\n", "profile"),
            ("easegress: {path: .}\noutputs: x\n", "outputs"),
        ];
        for (text, want) in cases {
            let err = BuildConfig::parse(text, Path::new(FILE))
                .err()
                .unwrap_or_default();
            assert!(err.contains(want), "{text}: {err}");
        }
    }
}
