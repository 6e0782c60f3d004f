//! Test support shared by every crate's tests, in the spirit of linkerd2-proxy's test
//! support: a small vocabulary for what tests of a network proxy do over and over.
//!
//! - [`free_port`], [`closed_addr`]: ephemeral loopback ports.
//! - [`eventually`], [`within`], [`eventually_async`], [`wait_until`], [`poll_until`]: polling with a
//!   deadline, for threads and for tasks.
//! - [`http`], [`raw`], [`raw_async`], [`status_of`], [`closed_within`],
//!   [`closed_silently`]: HTTP/1 spoken by hand over TCP, for what a well-behaved client
//!   would not send.
//! - [`Upstream`], [`RawUpstream`]: mock upstream servers recording what they saw;
//!   [`channel_body`]: a body the test feeds chunk by chunk.
//! - [`Server`]: the real server binary on ephemeral ports with private directories.
//! - [`cpu_ticks`], [`cpu_ticks_during`], [`open_fds`], [`exhaust_fds`]: what a process
//!   costs, from `/proc`, and running it out of descriptors.
//! - [`Cluster`]: primaries that each run their own etcd, and secondaries, on loopback.
//! - [`self_signed`]: a throwaway certificate.
//! - [`GrpcUpstream`], [`GrpcClient`]: gRPC peers speaking raw gRPC framing over h2c.
//! - [`WsEcho`]: a WebSocket echo server (plain or TLS) that can refuse upgrades.
//!
//! The crate depends on no crate of the workspace, so every crate can list it under
//! `[dev-dependencies]`. Helpers panic on failure: they are for tests only.
#![forbid(unsafe_code)]

mod cluster;
mod grpc;
mod net;
mod poll;
mod proc;
mod raw;
mod server;
mod slapd;
mod tls;
mod upstream;
mod ws;

pub use cluster::{etcd_available, Cluster, EtcdPorts};
pub use grpc::{
    frame_body, grpc_frame, status_trailers, FrameBody, GrpcCall, GrpcClient, GrpcReply, GrpcSeen,
    GrpcUpstream, MessageReader,
};
pub use net::{closed_addr, free_port, stable_port};
pub use poll::{eventually, eventually_async, poll_until, wait_until, within, WAIT_TIMEOUT};
pub use proc::{cpu_ticks, cpu_ticks_during, exhaust_fds, open_fds};
pub use raw::{
    closed_silently, closed_within, http, raw, raw_async, status_of, Answer, RAW_READ_TIMEOUT,
};
pub use server::{Server, START_TIMEOUT};
pub use slapd::{
    slapd_available, slapd_user_dn, Slapd, SlapdTls, SLAPD_BIN, SLAPD_SUFFIX, SLAPD_USERS_DN,
};
pub use tls::{self_signed, SelfSigned};
pub use upstream::{
    boxed, channel_body, ChannelBody, RawUpstream, Reply, ReplyBody, Seen, Upstream,
};
pub use ws::{WsEcho, WsState};
