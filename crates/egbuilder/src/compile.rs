//! `build`: generate the server workspace, run Cargo, copy the binaries out.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::config::BuildConfig;
use crate::error::{Error, Result};
use crate::workspace::{self, PACKAGE};

/// The name of the server binary in the output directory.
pub const SERVER_BIN: &str = "easegress-server";
/// The name of the client binary in the output directory.
pub const EGCTL_BIN: &str = "egctl";

/// The binaries of a build.
#[derive(Debug, Clone)]
pub struct Outputs {
    /// `<output>/easegress-server`.
    pub server: PathBuf,
    /// `<output>/egctl`.
    pub egctl: PathBuf,
}

/// Builds the server of `build` and copies it and `egctl` to the output directory.
///
/// Cargo runs with this process's environment: `CARGO_TARGET_DIR` (so that builds can share
/// a target directory), `CARGO_NET_OFFLINE`, `CARGO` (the cargo to run).
pub fn build(build: &BuildConfig) -> Result<Outputs> {
    workspace::generate(build)?;
    let manifest = build.work_dir.join("Cargo.toml");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(&cargo);
    cmd.arg("build")
        .arg("--manifest-path")
        .arg(&manifest)
        .args(["--profile", &build.profile])
        .args(["-p", PACKAGE, "-p", "egctl"]);
    for (key, _) in std::env::vars_os() {
        if key.to_str().is_some_and(describes_a_package) {
            cmd.env_remove(&key);
        }
    }
    println!(
        "building easegress-server with {} ({} profile)",
        plugin_list(build),
        build.profile
    );
    let status = cmd
        .status()
        .map_err(|e| Error::Command(format!("cannot run {}: {e}", cargo.to_string_lossy())))?;
    if !status.success() {
        return Err(Error::Command(format!("cargo build failed ({status})")));
    }
    let bin_dir = target_dir(&build.work_dir)?.join(build.profile_dir());
    let outputs = Outputs {
        server: build.output.join(SERVER_BIN),
        egctl: build.output.join(EGCTL_BIN),
    };
    install(&bin_dir.join(PACKAGE), &outputs.server)?;
    install(&bin_dir.join("egctl"), &outputs.egctl)?;
    println!(
        "built {} and {}",
        outputs.server.display(),
        outputs.egctl.display()
    );
    Ok(outputs)
}

/// Whether environment variable `key` is one Cargo sets for a package it builds or runs
/// (`cargo run`, `cargo test`, a build script): it describes that package, not this build.
/// Build scripts that watch such a variable (ring watches `CARGO_PKG_NAME`) would otherwise
/// run again, and everything above them would be rebuilt, whenever egbuilder is run by Cargo.
fn describes_a_package(key: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "CARGO_PKG_",
        "CARGO_BIN_EXE_",
        "CARGO_CFG_",
        "CARGO_FEATURE_",
    ];
    const NAMES: &[&str] = &[
        "CARGO_MANIFEST_DIR",
        "CARGO_MANIFEST_PATH",
        "CARGO_MANIFEST_LINKS",
        "CARGO_CRATE_NAME",
        "CARGO_BIN_NAME",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_TARGET_TMPDIR",
        "OUT_DIR",
    ];
    NAMES.contains(&key) || PREFIXES.iter().any(|p| key.starts_with(p))
}

fn plugin_list(build: &BuildConfig) -> String {
    if build.plugins.is_empty() {
        return "no plugin crate".into();
    }
    let names: Vec<&str> = build.plugins.iter().map(|p| p.name.as_str()).collect();
    names.join(", ")
}

/// The target directory Cargo uses for the workspace in `work_dir`: `CARGO_TARGET_DIR`
/// (relative to the current directory) or the workspace's own `target`.
pub fn target_dir(work_dir: &Path) -> Result<PathBuf> {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => {
            let cwd = std::env::current_dir().map_err(|e| Error::io(".", e))?;
            Ok(cwd.join(dir))
        }
        _ => Ok(work_dir.join("target")),
    }
}

/// Copies `from` to `to` through a temporary file renamed over `to`, so that a running
/// copy of the old binary is not disturbed.
fn install(from: &Path, to: &Path) -> Result<()> {
    if let Some(dir) = to.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let tmp = to.with_extension("egbuilder-tmp");
    std::fs::copy(from, &tmp).map_err(|e| Error::io(from, e))?;
    std::fs::rename(&tmp, to).map_err(|e| Error::io(to, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_variables_are_not_passed_on() {
        for key in [
            "CARGO_PKG_NAME",
            "CARGO_MANIFEST_DIR",
            "CARGO_BIN_EXE_egbuilder",
            "OUT_DIR",
        ] {
            assert!(describes_a_package(key), "{key}");
        }
        for key in [
            "CARGO_TARGET_DIR",
            "CARGO_HOME",
            "CARGO_NET_OFFLINE",
            "CARGO",
            "PATH",
        ] {
            assert!(!describes_a_package(key), "{key}");
        }
    }
}
