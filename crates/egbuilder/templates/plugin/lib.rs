//! Filters and controllers for easegress-rs.
//!
//! `egbuilder build -f build.yaml` builds an `easegress-server` that calls [`register`]; the
//! crate itself knows nothing about how that server is put together.

pub mod controllers;
pub mod filters;
mod registry;

pub use registry::register;
