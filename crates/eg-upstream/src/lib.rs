//! The upstream layer every proxy filter stands on: which servers a pool has, which of them
//! are healthy, which one takes a request, and the connections a request goes over.
//!
//! From the spec to the wire:
//!
//! - [`spec`]: the YAML types the proxy filters share (servers, `loadBalance`,
//!   `healthCheck`, a pool's `filter`, `mtls`), with Easegress's field names and defaults.
//! - [`server`]: one server, its URL checked and taken apart once ([`server::Server`]);
//!   the accepted schemes are a parameter ([`server::HTTP_SCHEMES`], [`server::WS_SCHEMES`]).
//! - [`servers`]: the servers of a pool — `serverTags`, weights (all or none) — and their
//!   health, published as a [`servers::HealthyGroup`] the request path reads without a lock.
//! - [`balance`]: the load-balancing policies picking one server of the healthy group,
//!   after [`sticky`] sessions had their say.
//! - [`matcher`]: the request matchers deciding whether a pool takes a request.
//! - [`health`]: the health checker: one task per pool probing every server, counting
//!   consecutive failures and successes; the probe kind (HTTP today) is pluggable.
//! - [`connections`]: the connection pools (plain-HTTP keep-alive per `host:port`, the
//!   generic client for `https`), their TLS configuration, and the classification of
//!   failed calls.
//!
//! What a proxy does with a request (its header work, retries, circuit breaker, statuses and
//! results) stays with the proxy filter; this crate knows nothing of filters or pipelines.
//!
//! One function uses `unsafe`, with its proof beside it: `connections/h1/decode.rs`
//! `parsed_value`, which does not check a header value's bytes a second time.
#![deny(unsafe_code)]

pub mod balance;
pub mod connections;
pub mod health;
pub mod log_limiter;
pub mod matcher;
pub mod server;
pub mod servers;
pub mod spec;
pub mod sticky;
