//! Reading a configuration file with its `include`s expanded in place.

use std::path::{Path, PathBuf};

use super::glob;
use super::parse::{parse, Directive};
use super::Warnings;

/// Deepest chain of includes followed; deeper means a file includes itself.
pub const MAX_INCLUDE_DEPTH: usize = 32;

/// Reads and parses `file`, replacing every `include` by the directives of the files it
/// names. Relative include paths are taken from `base_dir` (the directory of the main
/// file, as nginx takes them from its configuration prefix). A missing include file is a
/// warning; an unreadable main file or a syntax error anywhere is an error.
pub fn load(
    file: &Path,
    base_dir: &Path,
    warnings: &mut Warnings,
) -> Result<Vec<Directive>, String> {
    load_depth(file, base_dir, warnings, 0)
}

fn load_depth(
    file: &Path,
    base_dir: &Path,
    warnings: &mut Warnings,
    depth: usize,
) -> Result<Vec<Directive>, String> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("read {} failed: {e}", file.display()))?;
    let parsed = parse(&text, &file.display().to_string()).map_err(|e| e.to_string())?;
    expand(parsed, base_dir, warnings, depth)
}

fn expand(
    list: Vec<Directive>,
    base_dir: &Path,
    warnings: &mut Warnings,
    depth: usize,
) -> Result<Vec<Directive>, String> {
    let mut out = Vec::with_capacity(list.len());
    for mut d in list {
        if d.name != "include" {
            if let Some(block) = d.block.take() {
                d.block = Some(expand(block, base_dir, warnings, depth)?);
            }
            out.push(d);
            continue;
        }
        let [pattern] = d.args.as_slice() else {
            warnings.at(
                &d.pos,
                format!("\"{}\" needs exactly one file name; ignored", d.text()),
            );
            continue;
        };
        if depth >= MAX_INCLUDE_DEPTH {
            return Err(format!(
                "{}: includes nested deeper than {MAX_INCLUDE_DEPTH} levels (does a file include itself?)",
                d.pos
            ));
        }
        let path = resolve(base_dir, pattern);
        let files = if glob::has_wildcard(pattern) {
            glob::expand(&path)
        } else if path.exists() {
            vec![path.clone()]
        } else {
            warnings.at(
                &d.pos,
                format!("include file {} not found; ignored", path.display()),
            );
            continue;
        };
        for f in files.iter().filter(|f| f.is_file()) {
            out.extend(load_depth(f, base_dir, warnings, depth + 1)?);
        }
    }
    Ok(out)
}

/// `name` taken from `base_dir` unless it is absolute.
pub fn resolve(base_dir: &Path, name: &str) -> PathBuf {
    let p = Path::new(name);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base_dir.join(p)
    }
}
