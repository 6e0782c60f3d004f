//! An async etcd v3 client over the JSON gateway (`POST <client-url>/v3/...`, HTTP/1.1).
//!
//! etcd serves a JSON translation of its gRPC API on every client URL. Speaking it with the
//! HTTP client the project already has keeps the build free of protobuf code generation.
//! Endpoints are tried in turn when one refuses connections; every call has one deadline
//! (the cluster request timeout) covering failover and the answer.

mod client;
mod keepalive;
pub mod types;
mod watch;

pub use client::{discover_client_urls, health, Client, ClientOptions};
pub use keepalive::{KeepAlive, LeaseState};
pub use types::*;
pub use watch::WatchStream;

/// An etcd call failure.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// No endpoint answered in time, or the cluster cannot serve now (no leader, no quorum,
    /// timeout inside etcd). The request may or may not have been applied.
    #[error("etcd is unreachable: {0}")]
    Unavailable(String),
    /// etcd understood the request and refused it (bad argument, missing lease, ...).
    #[error("etcd refused the request (code {code}): {message}")]
    Rejected {
        /// gRPC status code.
        code: i32,
        /// etcd's message.
        message: String,
    },
    /// The revision asked for was compacted away; re-read the current state.
    #[error("etcd revision compacted (compact revision {revision})")]
    Compacted {
        /// The oldest revision still available, when etcd said so (0 otherwise).
        revision: i64,
    },
    /// The answer was not what the protocol promises.
    #[error("unexpected answer from etcd: {0}")]
    Protocol(String),
}

/// Result of etcd calls.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// Whether retrying later (maybe on another endpoint) may succeed.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Error::Unavailable(_))
    }

    /// Classifies a gateway error by its gRPC code and message.
    pub(crate) fn from_gateway(code: i32, message: String) -> Error {
        const DEADLINE_EXCEEDED: i32 = 4;
        const OUT_OF_RANGE: i32 = 11;
        const UNAVAILABLE: i32 = 14;
        const CANCELLED: i32 = 1;
        if message.contains("required revision has been compacted")
            || (code == OUT_OF_RANGE && message.contains("compacted"))
        {
            Error::Compacted { revision: 0 }
        } else if matches!(code, DEADLINE_EXCEEDED | UNAVAILABLE | CANCELLED) {
            Error::Unavailable(message)
        } else {
            Error::Rejected { code, message }
        }
    }
}

/// A deadline as people write it: `2s`, `1.5s`, `250ms` (a deadline computed from a clock
/// is a few nanoseconds short of the configured one; this rounds it back to milliseconds).
pub(crate) fn human(d: std::time::Duration) -> String {
    let ms = (d.as_nanos() + 500_000) / 1_000_000;
    if ms >= 1000 && ms.is_multiple_of(100) {
        let s = format!("{:.1}", ms as f64 / 1000.0);
        format!("{}s", s.trim_end_matches(".0"))
    } else if ms >= 1000 {
        format!("{:.3}s", ms as f64 / 1000.0)
    } else {
        format!("{ms}ms")
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    #[test]
    fn deadlines_read_as_configured() {
        assert_eq!(super::human(Duration::from_nanos(1_999_995_954)), "2s");
        assert_eq!(super::human(Duration::from_millis(1500)), "1.5s");
        assert_eq!(super::human(Duration::from_millis(250)), "250ms");
        assert_eq!(super::human(Duration::from_millis(1234)), "1.234s");
    }
}
