//! The counters a `SimpleHTTPProxy` reports in its status.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use serde_json::{json, Value};

/// Requests and tunnels of one filter (and its later generations).
#[derive(Debug, Default)]
pub struct Stats {
    requests: AtomicU64,
    failures: AtomicU64,
    request_bytes: AtomicU64,
    response_bytes: AtomicU64,
    tunnels_opened: AtomicU64,
    tunnels_open: AtomicU64,
    tunnels_failed: AtomicU64,
    tunnel_bytes_up: AtomicU64,
    tunnel_bytes_down: AtomicU64,
}

/// An open tunnel; [`OpenTunnel::closed`] records its bytes.
pub struct OpenTunnel(Arc<Stats>);

impl Stats {
    /// Records a forwarded request.
    pub fn record(&self, failed: bool, req_size: u64, resp_size: u64) {
        self.requests.fetch_add(1, Relaxed);
        if failed {
            self.failures.fetch_add(1, Relaxed);
        }
        self.request_bytes.fetch_add(req_size, Relaxed);
        self.response_bytes.fetch_add(resp_size, Relaxed);
    }

    /// Records a tunnel whose target could not be reached.
    pub fn tunnel_failed(&self) {
        self.tunnels_failed.fetch_add(1, Relaxed);
    }

    /// Records a tunnel opened.
    pub fn tunnel_opened(self: &Arc<Self>) -> OpenTunnel {
        self.tunnels_opened.fetch_add(1, Relaxed);
        self.tunnels_open.fetch_add(1, Relaxed);
        OpenTunnel(self.clone())
    }

    /// The status document.
    pub fn status(&self, hosts: usize) -> Value {
        json!({
            "requests": self.requests.load(Relaxed),
            "failures": self.failures.load(Relaxed),
            "requestBytes": self.request_bytes.load(Relaxed),
            "responseBytes": self.response_bytes.load(Relaxed),
            "hosts": hosts,
            "tunnels": {
                "opened": self.tunnels_opened.load(Relaxed),
                "open": self.tunnels_open.load(Relaxed),
                "failed": self.tunnels_failed.load(Relaxed),
                "bytesUp": self.tunnel_bytes_up.load(Relaxed),
                "bytesDown": self.tunnel_bytes_down.load(Relaxed),
            },
        })
    }
}

impl OpenTunnel {
    /// The tunnel closed after relaying `up` bytes to the target and `down` back.
    pub fn closed(self, up: u64, down: u64) {
        self.0.tunnel_bytes_up.fetch_add(up, Relaxed);
        self.0.tunnel_bytes_down.fetch_add(down, Relaxed);
    }
}

impl Drop for OpenTunnel {
    fn drop(&mut self) {
        self.0.tunnels_open.fetch_sub(1, Relaxed);
    }
}
