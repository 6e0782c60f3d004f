//! `egctl` binary entry point.

use clap::Parser;

/// Exit status of a failed command.
const EXIT_FAILURE: i32 = 1;

fn main() {
    let cli = egctl::cli::Cli::parse();
    if let Err(e) = egctl::cmd::run(cli) {
        eprintln!("Error: {e}");
        std::process::exit(EXIT_FAILURE);
    }
}
