//! `easegress-server`: runs the built-in kinds.

use easegress_server::{Mimalloc, Sampled};

/// mimalloc, sampled while a memory profile is being taken (`/apis/v2/profile`).
#[global_allocator]
static GLOBAL: Sampled<Mimalloc> = Sampled(Mimalloc);

fn main() {
    std::process::exit(easegress_server::main_with(
        easegress_server::registry::builtin(),
    ));
}
