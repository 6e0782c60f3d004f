//! `easegress-server`: runs the built-in kinds.

use mimalloc::MiMalloc;

#[global_allocator]
static GLOBAL: MiMalloc = MiMalloc;

fn main() {
    std::process::exit(easegress_server::main_with(
        easegress_server::registry::builtin(),
    ));
}
