//! The command line: `init`, `add`, `build`, `run`, as Easegress's egbuilder has them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Scaffold crates of custom filters and controllers and build an easegress-server with them.
#[derive(Debug, Parser)]
#[command(name = "egbuilder", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Cmd,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Create a crate of filters and controllers (in an empty directory).
    #[command(
        after_help = "Example:\n  egbuilder init --repo github.com/me/my-filters --filters=MyFilter1,MyFilter2 --controllers=MyController1"
    )]
    Init(InitArgs),
    /// Add filters or controllers to a crate made by `init`.
    #[command(
        after_help = "Example:\n  egbuilder add --filters=MyFilter3 --controllers=MyController2,MyController3"
    )]
    Add(AddArgs),
    /// Build easegress-server (and egctl) with the crates listed in build.yaml.
    #[command(after_help = "Example:\n  egbuilder build -f build.yaml -o bin")]
    Build(BuildArgs),
    /// Build, then run that easegress-server with the arguments after `--`.
    #[command(after_help = "Example:\n  egbuilder run -f build.yaml -- --api-addr 127.0.0.1:2381")]
    Run(RunArgs),
}

/// Filter and controller kind names.
#[derive(Debug, Args)]
pub struct KindArgs {
    /// Filter kinds to generate, e.g. MyFilter1,MyFilter2.
    #[arg(long, value_delimiter = ',')]
    pub filters: Vec<String>,
    /// Controller kinds to generate, e.g. MyController1.
    #[arg(long, value_delimiter = ',')]
    pub controllers: Vec<String>,
    /// The crate's directory. Default: the current directory.
    #[arg(long, default_value = ".")]
    pub dir: PathBuf,
}

/// `init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The crate name, or a repository path whose last segment is the crate name.
    #[arg(long)]
    pub repo: String,
    /// The kinds.
    #[command(flatten)]
    pub kinds: KindArgs,
    /// A local easegress-rs checkout to build against. Default: the checkout egbuilder was
    /// built from.
    #[arg(long, conflicts_with = "easegress_git")]
    pub easegress_path: Option<PathBuf>,
    /// An easegress-rs git repository to build against.
    #[arg(long)]
    pub easegress_git: Option<String>,
    /// The revision of --easegress-git.
    #[arg(long, requires = "easegress_git")]
    pub easegress_rev: Option<String>,
}

/// `add`.
#[derive(Debug, Args)]
pub struct AddArgs {
    /// The kinds.
    #[command(flatten)]
    pub kinds: KindArgs,
}

/// `build`.
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// The build file.
    #[arg(short = 'f', long = "config-file", default_value = "build.yaml")]
    pub file: PathBuf,
    /// Where to put easegress-server and egctl (overrides `output`).
    #[arg(short = 'o', long)]
    pub output: Option<PathBuf>,
    /// The Cargo profile (overrides `profile`; default release).
    #[arg(long)]
    pub profile: Option<String>,
}

/// `run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// How to build.
    #[command(flatten)]
    pub build: BuildArgs,
    /// Arguments of easegress-server.
    #[arg(last = true)]
    pub server_args: Vec<String>,
}
