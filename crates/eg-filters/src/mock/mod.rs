//! The `Mock` filter: canned responses by path, prefix and headers.
