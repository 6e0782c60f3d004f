//! ResponseAdaptor tests.
