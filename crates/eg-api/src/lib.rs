//! The admin API layer: Easegress's REST API.
//!
//! Served on `--api-addr` (default `localhost:2381`) under `/apis/v2`, with `/apis/v1` as an
//! alias, and a dashboard at `/dashboard/` (see `docs/dashboard.md`). Object writes go to
//! the store; the supervisor picks them up from its watch. Every answer carries
//! `X-Config-Version`; errors are `{"code": <status>, "message": "..."}`.
#![forbid(unsafe_code)]

mod access;
mod api;
mod conn;
mod customdata;
mod dashboard;
mod logs;
mod metadata;
mod objects;
mod profile;
mod reply;
mod routes;
mod server;
mod status;
#[cfg(test)]
mod tests;
mod wasm;

pub use access::check_origins;
pub use api::{
    Api, ApiConfig, LogControl, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_OBJECT_SIZE, DEFAULT_READ_HEADER_TIMEOUT, DEFAULT_READ_TIMEOUT,
    DEFAULT_WRITE_LOCK_TIMEOUT,
};
pub use dashboard::DASHBOARD_PATH;
pub use metadata::kind_schema;
pub use objects::create_initial_object;
pub use reply::{ApiError, Reply};
pub use server::serve;

/// Path prefix of the current API.
pub const API_PREFIX: &str = "/apis/v2";
/// Deprecated alias of [`API_PREFIX`].
pub const API_PREFIX_V1: &str = "/apis/v1";
/// Largest request body the admin API reads.
pub const MAX_BODY_BYTES: usize = 32 << 20;
