//! Link settings of the server binary.

use std::env;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=EG_NO_PACKED_RELOCS");
    let os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let libc = env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    // Relative relocations packed (DT_RELR, glibc 2.36 and binutils 2.38 or newer): the
    // dynamic loader reads a few kilobytes instead of megabytes of relocation entries at
    // start-up, and they stay out of the resident set. `EG_NO_PACKED_RELOCS=1` builds a
    // binary for an older glibc.
    if os == "linux" && libc == "gnu" && env::var_os("EG_NO_PACKED_RELOCS").is_none() {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}
