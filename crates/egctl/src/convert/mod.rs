//! `egctl convert nginx`: an nginx configuration to Easegress HTTPServers and Pipelines.
//!
//! [`parse`] reads the syntax, [`load`] expands `include`s, [`collect`] walks `http` →
//! `server` → `location` with nginx's inheritance, and [`translate`] builds the objects.
//! Whatever is not converted is reported as a warning with its `file:line`.

pub mod collect;
pub mod filters;
pub mod glob;
pub mod listen;
pub mod load;
pub mod model;
pub mod names;
pub mod parse;
pub mod scope;
pub mod translate;
pub mod upstream;
pub mod vars;

#[cfg(test)]
mod tests;

use std::path::Path;

use serde_json::Value;

use crate::yaml::to_yaml;
use parse::{Directive, Pos};
pub use translate::Objects;

/// Warnings of one conversion, each `file:line: message`, without repeats.
#[derive(Debug, Default, Clone)]
pub struct Warnings(Vec<String>);

impl Warnings {
    /// Adds a warning about what is written at `pos`.
    pub fn at(&mut self, pos: &Pos, message: impl AsRef<str>) {
        let w = format!("{pos}: {}", message.as_ref());
        if !self.0.contains(&w) {
            self.0.push(w);
        }
    }

    /// Adds "directive … is not converted" for `d`.
    pub fn not_converted(&mut self, d: &Directive) {
        self.at(&d.pos, format!("directive \"{}\" is not converted", d.name));
    }

    /// The warnings, in the order found.
    pub fn list(&self) -> &[String] {
        &self.0
    }
}

/// The result of a conversion.
#[derive(Debug, Clone, Default)]
pub struct Conversion {
    /// The objects.
    pub objects: Objects,
    /// What was not converted.
    pub warnings: Warnings,
}

impl Conversion {
    /// All objects: HTTPServers first, then Pipelines.
    pub fn all(&self) -> impl Iterator<Item = &Value> {
        self.objects
            .http_servers
            .iter()
            .chain(self.objects.pipelines.iter())
    }

    /// The objects as a multi-document YAML stream.
    pub fn to_yaml(&self) -> String {
        self.all().map(to_yaml).collect::<Vec<_>>().join("---\n")
    }
}

/// Converts the nginx configuration in `file`, naming objects `<prefix>-…`. Relative
/// `include` and certificate paths are taken from the directory of `file`.
pub fn convert_file(file: &Path, prefix: &str) -> Result<Conversion, String> {
    let base_dir = file.parent().unwrap_or_else(|| Path::new(""));
    let mut warnings = Warnings::default();
    let config = load::load(file, base_dir, &mut warnings)?;
    let servers = collect::collect(&config, base_dir, &mut warnings)?;
    let objects = translate::translate(&servers, prefix, &mut warnings)?;
    Ok(Conversion { objects, warnings })
}
