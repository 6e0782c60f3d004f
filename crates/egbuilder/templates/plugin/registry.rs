//! The one function a server built by `egbuilder` calls.
//!
//! Written by `egbuilder init` and rewritten by `egbuilder add`, which list every kind here.

use easegress_server::registry::Registry;

/// Adds this crate's filter kinds and controller kinds to `registry`.
pub fn register(registry: &mut Registry) {
@REGISTRATIONS@}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registers_every_kind() {
        let mut registry = Registry::new();
        register(&mut registry);
        let filters: [&str; @FILTER_COUNT@] = [@FILTER_NAMES@];
        for kind in filters {
            assert!(registry.filters.get(kind).is_some(), "{kind}");
        }
        assert_eq!(registry.objects.len(), @CONTROLLER_COUNT@);
    }
}
