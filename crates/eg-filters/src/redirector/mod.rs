//! The `Redirector` filter: regexp redirects.
