//! easegress-server with the kinds of @PLUGIN_NAMES@.
//!
//! Written by `egbuilder build` from build.yaml; rewritten by every build.

use easegress_server::{Mimalloc, Sampled};

/// mimalloc, sampled while a memory profile is being taken.
#[global_allocator]
static GLOBAL: Sampled<Mimalloc> = Sampled(Mimalloc);

fn main() {
    let mut registry = easegress_server::registry::builtin();
@REGISTRATIONS@    std::process::exit(easegress_server::main_with(registry));
}
