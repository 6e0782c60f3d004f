//! `egbuilder`: scaffolds crates of custom filter and controller kinds for easegress-rs and
//! builds an `easegress-server` with them, as Easegress's egbuilder does for Go plugins.
//!
//! - `init` writes a plugin crate: one module per kind (spec, kind, behaviour, tests) and a
//!   `register` function adding them all to a [registry];
//! - `add` adds kinds to it;
//! - `build` generates a small workspace whose `main` starts from the built-in kinds, calls
//!   each plugin's `register` and runs the server, and builds it with Cargo;
//! - `run` builds and starts it.
//!
//! The files written come from `templates/`, with `@NAME@` placeholders filled in.
//!
//! [registry]: https://docs.rs/easegress-server
#![forbid(unsafe_code)]

pub mod cli;
pub mod compile;
pub mod config;
pub mod error;
pub mod names;
pub mod project;
pub mod run;
pub mod scaffold;
pub mod source;
pub mod template;
pub mod workspace;

use cli::{BuildArgs, Cli, Cmd};
use config::BuildConfig;
use error::{Error, Result};

/// Runs a parsed command line; returns the exit code.
pub fn main_with(cli: Cli) -> Result<i32> {
    match cli.command {
        Cmd::Init(a) => {
            let easegress = source::from_flags(
                a.easegress_path.as_deref(),
                a.easegress_git.as_deref(),
                a.easegress_rev.as_deref(),
            )?;
            let kinds = kinds(&a.kinds);
            scaffold::init(&a.kinds.dir, &a.repo, &kinds, &easegress)?;
            Ok(0)
        }
        Cmd::Add(a) => {
            scaffold::add(&a.kinds.dir, &kinds(&a.kinds))?;
            Ok(0)
        }
        Cmd::Build(a) => {
            compile::build(&build_config(&a)?)?;
            Ok(0)
        }
        Cmd::Run(a) => run::run(&build_config(&a.build)?, &a.server_args),
    }
}

fn kinds(a: &cli::KindArgs) -> scaffold::Kinds {
    let clean = |names: &[String]| -> Vec<String> {
        names
            .iter()
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty())
            .collect()
    };
    scaffold::Kinds {
        filters: clean(&a.filters),
        controllers: clean(&a.controllers),
    }
}

fn build_config(a: &BuildArgs) -> Result<BuildConfig> {
    let mut config = BuildConfig::load(&a.file)?;
    if let Some(output) = &a.output {
        let cwd = std::env::current_dir().map_err(|e| Error::io(".", e))?;
        config.output = source::absolute(&cwd, output);
    }
    if let Some(profile) = &a.profile {
        config::check_profile(profile).map_err(|e| Error::Usage(format!("--profile: {e}")))?;
        config.profile = profile.clone();
    }
    Ok(config)
}
