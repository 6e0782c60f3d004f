//! `.egbuilderrc`: egbuilder's record of a plugin crate — its name and kinds — which `add`
//! reads to rewrite the crate's kind listings and `register`.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{read, write, Error, Result};

/// The record's file name, as Easegress's egbuilder names it.
pub const FILE: &str = ".egbuilderrc";

/// A plugin crate as egbuilder knows it.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Project {
    /// The crate name.
    pub name: String,
    /// Filter kinds, in the order they were added.
    #[serde(default)]
    pub filters: Vec<String>,
    /// Controller kinds, in the order they were added.
    #[serde(default)]
    pub controllers: Vec<String>,
}

impl Project {
    /// The record of the crate in `dir`.
    pub fn load(dir: &Path) -> Result<Project> {
        let path = dir.join(FILE);
        if !path.is_file() {
            return Err(Error::Usage(format!(
                "{} is not a crate made by `egbuilder init` (no {FILE})",
                dir.display()
            )));
        }
        serde_saphyr::from_str(&read(&path)?).map_err(|e| Error::Config {
            path,
            message: e.to_string(),
        })
    }

    /// Writes the record into `dir`.
    pub fn save(&self, dir: &Path) -> Result<()> {
        write(&dir.join(FILE), &self.to_yaml())
    }

    /// The record as YAML (names are checked identifiers: no quoting needed).
    pub fn to_yaml(&self) -> String {
        let list = |names: &[String]| -> String {
            if names.is_empty() {
                " []\n".to_string()
            } else {
                names
                    .iter()
                    .map(|n| format!("\n  - {n}"))
                    .collect::<String>()
                    + "\n"
            }
        };
        format!(
            "# egbuilder's record of this crate; `egbuilder add` reads and rewrites it.\n\
             name: {}\nfilters:{}controllers:{}",
            self.name,
            list(&self.filters),
            list(&self.controllers)
        )
    }

    /// The module file of filter `kind`.
    pub fn filter_file(dir: &Path, kind: &str) -> PathBuf {
        dir.join("src/filters")
            .join(format!("{}.rs", crate::names::module_name(kind)))
    }

    /// The module file of controller `kind`.
    pub fn controller_file(dir: &Path, kind: &str) -> PathBuf {
        dir.join("src/controllers")
            .join(format!("{}.rs", crate::names::module_name(kind)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_record_round_trips() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = Project {
            name: "repo".into(),
            filters: vec!["MyFilter1".into()],
            controllers: vec![],
        };
        p.save(dir.path()).expect("saved");
        assert_eq!(Project::load(dir.path()).ok(), Some(p));
        assert!(Project::load(&dir.path().join("none")).is_err());
    }
}
