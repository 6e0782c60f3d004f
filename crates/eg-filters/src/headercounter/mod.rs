//! The `HeaderCounter` filter: the developer guide example.
