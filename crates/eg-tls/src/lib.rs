//! The rustls crypto provider of every TLS endpoint in the server: HTTPServer listeners,
//! the admin API, upstream connections, LDAP binds, trace export and WasmHost fetches.
//!
//! One function decides it, so that a build never mixes two providers and no endpoint
//! depends on rustls guessing a process default (which it refuses to do when both ring and
//! AWS-LC are compiled in). Without features this crate gives ring, which builds in
//! seconds; its `crypto-aws-lc` feature, which the server turns on by default, gives AWS-LC
//! (aws-lc-rs), whose X25519 key exchange and RSA signatures cost about half of ring's CPU,
//! so each new TLS connection is cheaper.

use std::sync::{Arc, OnceLock};

use rustls::crypto::CryptoProvider;

/// The provider's name, as the server logs it at start-up.
#[cfg(feature = "crypto-aws-lc")]
pub const PROVIDER_NAME: &str = "aws-lc-rs";
/// The provider's name, as the server logs it at start-up.
#[cfg(not(feature = "crypto-aws-lc"))]
pub const PROVIDER_NAME: &str = "ring";

#[cfg(feature = "crypto-aws-lc")]
fn build() -> CryptoProvider {
    rustls::crypto::aws_lc_rs::default_provider()
}

#[cfg(not(feature = "crypto-aws-lc"))]
fn build() -> CryptoProvider {
    rustls::crypto::ring::default_provider()
}

/// The provider every TLS configuration of the server is built with: one instance for the
/// process, shared.
pub fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER.get_or_init(|| Arc::new(build())).clone()
}

/// Installs the same provider as [`provider`]'s (another instance: rustls keeps its own) as
/// the process default, for libraries that build a rustls configuration without being given
/// one. Harmless when a default is already installed (the first one stays; every
/// configuration of the server names its provider anyway).
pub fn install_process_default() {
    // An `Err` only says a default was installed before; there is nothing to undo.
    let _ = CryptoProvider::install_default(build());
}

#[cfg(test)]
mod tests;
