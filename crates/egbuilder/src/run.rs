//! `run`: build, then become the built server.

use std::process::Command;

use crate::config::BuildConfig;
use crate::error::{Error, Result};

/// Builds the server of `config` and runs it with `args`; returns its exit code (on Unix
/// the server replaces this process, so signals reach it directly, and this returns only
/// when it cannot start).
pub fn run(config: &BuildConfig, args: &[String]) -> Result<i32> {
    let outputs = crate::compile::build(config)?;
    let mut cmd = Command::new(&outputs.server);
    cmd.args(args);
    exec(cmd, &outputs.server.display().to_string())
}

#[cfg(unix)]
fn exec(mut cmd: Command, name: &str) -> Result<i32> {
    use std::os::unix::process::CommandExt;
    let e = cmd.exec();
    Err(Error::Command(format!("cannot start {name}: {e}")))
}

#[cfg(not(unix))]
fn exec(mut cmd: Command, name: &str) -> Result<i32> {
    let status = cmd
        .status()
        .map_err(|e| Error::Command(format!("cannot start {name}: {e}")))?;
    Ok(status.code().unwrap_or(1))
}
