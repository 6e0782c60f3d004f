//! The host functions, by group.

pub mod cluster;
pub mod misc;
pub mod request;
pub mod response;
