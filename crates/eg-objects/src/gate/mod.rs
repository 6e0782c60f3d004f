//! What the traffic gates (`HTTPServer`, `GRPCServer`) share: the listener with its
//! connection limit, drain and socket handover; finding the backend pipeline and global
//! filter; the route cache; the client's real IP and `X-Forwarded-For`; request statistics.

pub(crate) mod backend;
pub(crate) mod cache;
pub(crate) mod generation;
mod h1;
pub(crate) mod h2c;
pub(crate) mod idle;
pub(crate) mod listener;
pub(crate) mod realip;
pub(crate) mod stats;
pub(crate) mod sweep;
