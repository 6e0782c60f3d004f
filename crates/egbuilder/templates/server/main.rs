//! easegress-server with the kinds of @PLUGIN_NAMES@.
//!
//! Written by `egbuilder build` from build.yaml; rewritten by every build.

use easegress_server::Sampled;
use mimalloc::MiMalloc;

/// mimalloc, sampled while a memory profile is being taken.
#[global_allocator]
static GLOBAL: Sampled<MiMalloc> = Sampled(MiMalloc);

fn main() {
    let mut registry = easegress_server::registry::builtin();
@REGISTRATIONS@    std::process::exit(easegress_server::main_with(registry));
}
