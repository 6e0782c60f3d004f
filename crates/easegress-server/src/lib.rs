//! The `easegress-server` program as a library, so that a user's own build can add kinds to
//! the registry and run the same server:
//!
//! ```no_run
//! let mut registry = easegress_server::registry::builtin();
//! // registry.filters.register(my_filter::KIND);
//! std::process::exit(easegress_server::main_with(registry));
//! ```
// The global allocator (`allocator.rs`) and one audited call into it (`memory.rs`);
// nothing else.
#![deny(unsafe_code)]

mod allocator;
pub mod cluster;
pub mod logging;
mod memory;
pub mod options;
pub mod registry;
pub mod rlimit;
mod run;
pub mod schemas;
pub mod systemd;
pub mod upgrade;

/// The global allocator: a program built on this crate installs `Sampled(Mimalloc)` as
/// its `#[global_allocator]` (`Sampled` is the wrapper memory profiles need).
pub use allocator::Mimalloc;
pub use eg_profile::Sampled;
pub use run::main_with;

/// The version string printed by `--version`.
pub const VERSION: &str = concat!("Easegress (easegress-rs) v", env!("CARGO_PKG_VERSION"));
