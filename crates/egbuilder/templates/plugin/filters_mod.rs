//! The filter kinds of this crate, one module each.
//!
//! Written by `egbuilder init` and rewritten by `egbuilder add`.
@MODULES@
