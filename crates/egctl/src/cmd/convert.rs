//! `convert nginx`: writes the objects converted from an nginx configuration to a YAML
//! file and the warnings on stderr. It needs no server.

use std::path::Path;

use crate::cli::ConvertCmd;
use crate::convert::convert_file;
use crate::CmdResult;

/// Runs `convert nginx` with `output` (the `-o` value) as the file to write.
pub fn convert(cmd: &ConvertCmd, output: Option<&str>) -> CmdResult {
    let ConvertCmd::Nginx(a) = cmd;
    if a.file.is_empty() {
        return Err("nginx.conf file path is required".into());
    }
    let Some(output) = output.filter(|o| !o.is_empty()) else {
        return Err("output yaml file path is required".into());
    };
    if a.resource_prefix.is_empty() {
        return Err("prefix is required".into());
    }
    let conversion = convert_file(Path::new(&a.file), &a.resource_prefix)
        .map_err(|e| format!("convert {} failed: {e}", a.file))?;
    for w in conversion.warnings.list() {
        eprintln!("WARNING: {w}");
    }
    std::fs::write(output, conversion.to_yaml())
        .map_err(|e| format!("write {output} failed: {e}"))?;
    Ok(())
}
