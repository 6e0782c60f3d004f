//! The statistics of one pool, reported in the filter's status.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use http::StatusCode;
use parking_lot::Mutex;
use serde_json::{json, Map, Value};

use super::relay::Traffic;

/// Handshakes and sessions of one pool.
#[derive(Debug, Default)]
pub struct PoolStats {
    /// Handshakes answered, by status.
    codes: Mutex<Vec<(u16, u64)>>,
    handshakes: AtomicU64,
    errors: AtomicU64,
    open: AtomicU64,
    closed: AtomicU64,
    client_messages: AtomicU64,
    client_bytes: AtomicU64,
    server_messages: AtomicU64,
    server_bytes: AtomicU64,
}

impl PoolStats {
    fn count_code(&self, status: StatusCode) {
        self.handshakes.fetch_add(1, Relaxed);
        let code = status.as_u16();
        let mut codes = self.codes.lock();
        match codes.iter_mut().find(|(c, _)| *c == code) {
            Some((_, n)) => *n += 1,
            None => codes.push((code, 1)),
        }
    }

    /// A handshake answered with `status` (not 101).
    pub fn record_refused(&self, status: StatusCode) {
        self.errors.fetch_add(1, Relaxed);
        self.count_code(status);
    }

    /// A handshake answered with 101.
    pub fn session_opened(&self) {
        self.count_code(StatusCode::SWITCHING_PROTOCOLS);
        self.open.fetch_add(1, Relaxed);
    }

    /// A relayed session ended with `traffic`.
    pub fn session_closed(&self, traffic: &Traffic) {
        self.open.fetch_sub(1, Relaxed);
        self.closed.fetch_add(1, Relaxed);
        for (to, from) in [
            (&self.client_messages, &traffic.client_messages),
            (&self.client_bytes, &traffic.client_bytes),
            (&self.server_messages, &traffic.server_messages),
            (&self.server_bytes, &traffic.server_bytes),
        ] {
            to.fetch_add(from.load(Relaxed), Relaxed);
        }
    }

    /// The status fields: counts of handshakes (by code), sessions and relayed messages.
    pub fn status(&self) -> Map<String, Value> {
        let mut codes = Map::new();
        let mut list = self.codes.lock().clone();
        list.sort_unstable();
        for (c, n) in list {
            codes.insert(c.to_string(), json!(n));
        }
        let v = json!({
            "total": self.handshakes.load(Relaxed),
            "errors": self.errors.load(Relaxed),
            "codes": codes,
            "openSessions": self.open.load(Relaxed),
            "closedSessions": self.closed.load(Relaxed),
            "clientMessages": self.client_messages.load(Relaxed),
            "clientBytes": self.client_bytes.load(Relaxed),
            "serverMessages": self.server_messages.load(Relaxed),
            "serverBytes": self.server_bytes.load(Relaxed),
        });
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }
}
