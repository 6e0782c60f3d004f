//! The objects layer: the built-in object kinds.
//!
//! One module per kind, each with its spec, its kind (validation and creation) and its
//! running object beside it.
//!
//! One function uses `unsafe`, with its proof beside it: `gate/h1/request.rs`
//! `parsed_value`, which does not check a header value's bytes a second time.
#![deny(unsafe_code)]

mod gate;
pub mod globalfilter;
pub mod grpcserver;
pub mod httpserver;
pub mod pipeline;
pub mod statusinlocal;
pub mod system;
#[cfg(test)]
mod testkit;
