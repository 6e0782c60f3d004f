//! `egbuilder` binary entry point.

use clap::Parser;

/// Exit status of a failed command.
const EXIT_FAILURE: i32 = 1;

fn main() {
    let cli = egbuilder::cli::Cli::parse();
    match egbuilder::main_with(cli) {
        Ok(0) => {}
        Ok(status) => std::process::exit(status),
        Err(e) => {
            eprintln!("Error: {e}");
            std::process::exit(EXIT_FAILURE);
        }
    }
}
