//! The cluster layer: members share their configuration through etcd v3.
//!
//! - [`etcd`]: an async etcd v3 client speaking the JSON gateway over HTTP/1.1, with
//!   endpoint failover and a per-call timeout.
//! - [`process`]: the etcd server a primary member supervises as a child process.
//! - [`EtcdStore`]: an [`eg_store::Store`] kept in etcd and served from a watch-fed local
//!   cache, so reads never wait on the network and keep answering when etcd is away.
//! - [`member`]: the member's heartbeat and object statuses, written under its lease.
#![forbid(unsafe_code)]

pub mod etcd;
pub mod member;
pub mod process;
mod store;

pub use store::{ConnectError, EtcdStore, EtcdStoreOptions, Readiness};
