//! The server workspace `build` generates: a `main.rs` that starts from the built-in kinds,
//! calls each plugin's `register` and runs the server, and a manifest naming the plugins.

use crate::config::BuildConfig;
use crate::error::{write, Error, Result};
use crate::names::crate_ident;
use crate::source::EASEGRESS_CRATES;
use crate::template::{files, render};

/// The package (and binary) of the generated server; `build` copies the binary to
/// `easegress-server` in the output directory. It is not called `easegress-server`, so that
/// a build sharing easegress-rs's target directory never replaces that binary.
pub const PACKAGE: &str = "egbuilder-server";

/// Writes the server workspace of `build` into its work directory.
pub fn generate(build: &BuildConfig) -> Result<()> {
    let dir = &build.work_dir;
    write(&dir.join("Cargo.toml"), &manifest(build))?;
    write(&dir.join("main.rs"), &main_rs(build))?;
    let lock = dir.join("Cargo.lock");
    if let (false, Some(from)) = (lock.exists(), build.easegress.lock_file()) {
        std::fs::copy(&from, &lock).map_err(|e| Error::io(&from, e))?;
    }
    Ok(())
}

/// The workspace manifest.
pub fn manifest(build: &BuildConfig) -> String {
    let easegress = build.easegress.easegress_dependency("easegress-server")
        + "\n"
        + &build.easegress.easegress_dependency("egctl");
    let plugins: Vec<String> = build
        .plugins
        .iter()
        .map(|p| p.source.crate_dependency(&p.name))
        .collect();
    let overrides: String = EASEGRESS_CRATES
        .iter()
        .map(|c| format!("\n[profile.dev.package.{c}]\nopt-level = 0\n"))
        .collect();
    render(
        files::SERVER_MANIFEST,
        &[
            ("PACKAGE", PACKAGE),
            ("EASEGRESS_DEPENDENCIES", &easegress),
            ("PLUGIN_DEPENDENCIES", &plugins.join("\n")),
            ("DEV_OVERRIDES", &overrides),
        ],
    )
}

/// The server's `main.rs`.
pub fn main_rs(build: &BuildConfig) -> String {
    let names: Vec<&str> = build.plugins.iter().map(|p| p.name.as_str()).collect();
    let calls: String = build
        .plugins
        .iter()
        .map(|p| format!("    {}::register(&mut registry);\n", crate_ident(&p.name)))
        .collect();
    let names = if names.is_empty() {
        "no plugin crate".to_string()
    } else {
        names.join(", ")
    };
    render(
        files::SERVER_MAIN,
        &[("PLUGIN_NAMES", &names), ("REGISTRATIONS", &calls)],
    )
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::template::placeholders;

    fn config() -> BuildConfig {
        let text = "easegress: {path: /eg}\nplugins: [{name: my-filters, path: .}]\n";
        BuildConfig::parse(text, Path::new("/p/build.yaml")).expect("valid")
    }

    #[test]
    fn main_registers_every_plugin() {
        let main = main_rs(&config());
        assert!(main.contains("    my_filters::register(&mut registry);\n"));
        assert!(placeholders(&main).is_empty(), "{main}");
    }

    #[test]
    fn the_manifest_names_the_sources() {
        let m = manifest(&config());
        assert!(m.contains(r#"easegress-server = { path = "/eg/crates/easegress-server" }"#));
        assert!(m.contains(r#"my-filters = { path = "/p" }"#));
        assert!(m.contains("[profile.dev.package.eg-spec]\nopt-level = 0\n"));
        assert!(placeholders(&m).is_empty(), "{m}");
    }

    /// The generated profiles are easegress-rs's own, so that builds share compiled crates.
    #[test]
    fn profiles_match_the_workspace() {
        let workspace = include_str!("../../../Cargo.toml");
        let template = files::SERVER_MANIFEST;
        let start = template.find("[profile.release]").unwrap_or(template.len());
        let end = template.find("@DEV_OVERRIDES@").unwrap_or(template.len());
        for block in template[start..end].split("\n\n") {
            let block = block.trim();
            assert!(workspace.contains(block), "not in Cargo.toml:\n{block}");
        }
    }
}
