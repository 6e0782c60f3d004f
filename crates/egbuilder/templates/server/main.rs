//! easegress-server with the kinds of @PLUGIN_NAMES@.
//!
//! Written by `egbuilder build` from build.yaml; rewritten by every build.

use mimalloc::MiMalloc;

#[global_allocator]
static GLOBAL: MiMalloc = MiMalloc;

fn main() {
    let mut registry = easegress_server::registry::builtin();
@REGISTRATIONS@    std::process::exit(easegress_server::main_with(registry));
}
