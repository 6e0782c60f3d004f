//! `easegress-server`: runs the built-in kinds.

use eg_profile::Sampled;
use mimalloc::MiMalloc;

/// mimalloc, sampled while a memory profile is being taken (`/apis/v2/profile`).
#[global_allocator]
static GLOBAL: Sampled<MiMalloc> = Sampled(MiMalloc);

fn main() {
    std::process::exit(easegress_server::main_with(
        easegress_server::registry::builtin(),
    ));
}
