//! RequestAdaptor tests.
