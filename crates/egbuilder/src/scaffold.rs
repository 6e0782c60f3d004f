//! `init` and `add`: the plugin crate's files, from the templates.

use std::path::Path;

use crate::error::{write, Error, Result};
use crate::names::{check_kind, crate_name, module_name};
use crate::project::Project;
use crate::source::{Source, PLUGIN_CRATES, PLUGIN_TEST_CRATES};
use crate::template::{files, render};

/// The kinds to scaffold.
#[derive(Debug, Clone, Default)]
pub struct Kinds {
    /// Filter kind names.
    pub filters: Vec<String>,
    /// Controller kind names.
    pub controllers: Vec<String>,
}

impl Kinds {
    /// Checks the names: valid kinds, at least one, no duplicate (also against `existing`).
    fn check(&self, existing: &Project) -> Result<()> {
        if self.filters.is_empty() && self.controllers.is_empty() {
            return Err(Error::Usage("filters or controllers is required".into()));
        }
        let mut seen: Vec<&str> = existing
            .filters
            .iter()
            .chain(&existing.controllers)
            .map(String::as_str)
            .collect();
        for (names, what) in [(&self.filters, "filter"), (&self.controllers, "controller")] {
            for name in names {
                check_kind(name, what)?;
                if seen.contains(&name.as_str()) {
                    return Err(Error::Usage(format!("{what} {name} already exists")));
                }
                seen.push(name);
            }
        }
        Ok(())
    }
}

/// Scaffolds a plugin crate named after `repo` in the empty (or absent) directory `dir`,
/// with `kinds`, depending on easegress-rs at `easegress`.
pub fn init(dir: &Path, repo: &str, kinds: &Kinds, easegress: &Source) -> Result<()> {
    let name = crate_name(repo)?;
    kinds.check(&Project::default())?;
    if let Ok(mut entries) = std::fs::read_dir(dir) {
        if entries.next().is_some() {
            return Err(Error::Usage(format!(
                "directory {} is not empty, please call init in an empty directory",
                dir.display()
            )));
        }
    }
    let deps = |crates: &[&str]| -> String {
        let lines: Vec<String> = crates
            .iter()
            .map(|c| easegress.easegress_dependency(c))
            .collect();
        lines.join("\n")
    };
    let manifest = render(
        files::PLUGIN_MANIFEST,
        &[
            ("CRATE", &name),
            ("EASEGRESS_DEPENDENCIES", &deps(PLUGIN_CRATES)),
            ("EASEGRESS_DEV_DEPENDENCIES", &deps(PLUGIN_TEST_CRATES)),
        ],
    );
    write(&dir.join("Cargo.toml"), &manifest)?;
    write(&dir.join("src/lib.rs"), files::PLUGIN_LIB)?;
    write(&dir.join(".gitignore"), files::GITIGNORE)?;
    let build = render(
        files::BUILD_YAML,
        &[("CRATE", &name), ("EASEGRESS_SOURCE", &easegress.yaml())],
    );
    write(&dir.join("build.yaml"), &build)?;
    if let Some(lock) = easegress.lock_file() {
        // The versions easegress-rs is tested with (and, with a shared target directory,
        // already compiled).
        let to = dir.join("Cargo.lock");
        std::fs::copy(&lock, &to).map_err(|e| Error::io(&lock, e))?;
    }
    let project = Project {
        name,
        ..Project::default()
    };
    extend(dir, project, kinds)
}

/// Adds `kinds` to the plugin crate in `dir`.
pub fn add(dir: &Path, kinds: &Kinds) -> Result<()> {
    let project = Project::load(dir)?;
    kinds.check(&project)?;
    extend(dir, project, kinds)
}

/// Writes the modules of `kinds`, then the listings and `register` of all kinds.
fn extend(dir: &Path, mut project: Project, kinds: &Kinds) -> Result<()> {
    for kind in &kinds.filters {
        new_file(&Project::filter_file(dir, kind), &filter_module(kind))?;
        println!("generated filter {kind}");
    }
    for kind in &kinds.controllers {
        new_file(
            &Project::controller_file(dir, kind),
            &controller_module(kind),
        )?;
        println!("generated controller {kind}");
    }
    project.filters.extend(kinds.filters.iter().cloned());
    project
        .controllers
        .extend(kinds.controllers.iter().cloned());
    write(
        &dir.join("src/filters/mod.rs"),
        &listing(files::FILTERS_MOD, &project.filters),
    )?;
    write(
        &dir.join("src/controllers/mod.rs"),
        &listing(files::CONTROLLERS_MOD, &project.controllers),
    )?;
    write(&dir.join("src/registry.rs"), &registry(&project))?;
    println!("generated registry");
    project.save(dir)?;
    format_sources(dir);
    Ok(())
}

/// Formats the crate's sources with rustfmt when it is installed (the templates are
/// formatted already; generated lines such as `register`'s may need wrapping). Without
/// rustfmt the code is the same, only laid out differently.
fn format_sources(dir: &Path) {
    let manifest = dir.join("Cargo.toml");
    let formatted = std::process::Command::new("cargo")
        .arg("fmt")
        .arg("--manifest-path")
        .arg(&manifest)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !formatted {
        println!("note: cargo fmt is not available; the sources are not reformatted");
    }
}

/// Writes `text` to `path`, refusing to overwrite the user's code.
fn new_file(path: &Path, text: &str) -> Result<()> {
    if path.exists() {
        return Err(Error::Usage(format!("{} already exists", path.display())));
    }
    write(path, text)
}

/// The module of filter `kind`.
pub fn filter_module(kind: &str) -> String {
    render(files::FILTER, &[("KIND", kind)])
}

/// The module of controller `kind`.
pub fn controller_module(kind: &str) -> String {
    let lower = kind.to_ascii_lowercase();
    render(files::CONTROLLER, &[("KIND", kind), ("LOWER", &lower)])
}

/// A `mod.rs` declaring one module per kind.
fn listing(template: &str, kinds: &[String]) -> String {
    let modules: String = kinds
        .iter()
        .map(|k| format!("\npub mod {};", module_name(k)))
        .collect();
    render(template, &[("MODULES", &modules)])
}

/// `src/registry.rs` registering every kind of `project`.
pub fn registry(project: &Project) -> String {
    let mut lines = String::new();
    for kind in &project.filters {
        lines.push_str(&format!(
            "    registry.filters.register(crate::filters::{}::KIND);\n",
            module_name(kind)
        ));
    }
    for kind in &project.controllers {
        lines.push_str(&format!(
            "    registry.object(|_| std::sync::Arc::new(crate::controllers::{}::{kind}Kind));\n",
            module_name(kind)
        ));
    }
    let names: Vec<String> = project.filters.iter().map(|k| format!("{k:?}")).collect();
    render(
        files::REGISTRY,
        &[
            ("REGISTRATIONS", &lines),
            ("FILTER_COUNT", &project.filters.len().to_string()),
            ("FILTER_NAMES", &names.join(", ")),
            ("CONTROLLER_COUNT", &project.controllers.len().to_string()),
        ],
    )
}
