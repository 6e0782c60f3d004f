//! One generation of a traffic gate: what it takes over from its predecessor in `start`
//! and what it releases in `close`, the same for every gate kind.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use eg_supervisor::metrics::Cell;
use parking_lot::Mutex;
use serde_json::{json, Value};

use super::listener::{Gate, Listener, ListenerConfig, Shared, State};
use super::stats::SharedStats;

/// The listener and shared state of one generation of a gate.
///
/// The listener and the state it shares with its connections ([`Shared`]) pass from
/// generation to generation; a generation owns its listener until a successor takes it,
/// and marks the gate closed only if no successor took over serving it.
pub(crate) struct Generation<M> {
    name: String,
    /// The state shared with the listener and its connections, set by `start`.
    shared: OnceLock<Arc<Shared<M>>>,
    /// The listener, while this generation holds it.
    listener: Mutex<Option<Listener>>,
    /// Set when a successor took over serving this gate (its listener or its place).
    superseded: AtomicBool,
}

impl<M: Gate> Generation<M> {
    /// A generation of gate `name`, not started.
    pub fn new(name: &str) -> Generation<M> {
        Generation {
            name: name.to_string(),
            shared: OnceLock::new(),
            listener: Mutex::new(None),
            superseded: AtomicBool::new(false),
        }
    }

    /// The statistics to continue from `prev` (new ones without a predecessor).
    pub fn stats_after(prev: Option<&Generation<M>>) -> Arc<SharedStats> {
        prev.and_then(|p| p.shared.get())
            .map(|s| s.stats.clone())
            .unwrap_or_else(|| Arc::new(SharedStats::new()))
    }

    /// The configuration `prev` serves now, if it started.
    pub fn current(&self) -> Option<Arc<M>> {
        self.shared.get().map(|s| s.mux.load_full())
    }

    /// Starts serving `mux`. With the same listener settings as `prev`, takes over prev's
    /// listener and swaps `mux` in (connections stay open); otherwise starts a listener
    /// that takes over prev's socket or binds once prev let go. `health` makes the health
    /// gauge of a gate without predecessor.
    pub fn start(
        &self,
        mux: M,
        config: ListenerConfig,
        max_conns: usize,
        stats: Arc<SharedStats>,
        prev: Option<&Generation<M>>,
        health: impl FnOnce() -> Arc<Cell>,
    ) {
        let prev_shared = prev.and_then(|prev| prev.shared.get());
        let mut old_listener = None;
        if let (Some(prev), Some(prev_shared)) = (prev, prev_shared) {
            prev.superseded.store(true, Ordering::Release);
            let mut prev_listener = prev.listener.lock();
            if prev_listener
                .as_ref()
                .is_some_and(|l| l.config.same_listener(&config))
            {
                // Same listener: keep it and its connections; only the configuration changes.
                prev_shared.mux.store(Arc::new(mux));
                prev_shared.set_max_connections(max_conns);
                *self.listener.lock() = prev_listener.take();
                let _ = self.shared.set(prev_shared.clone());
                return;
            }
            // The listener changes: the new one stops the old one and takes over its socket
            // (or binds once it is released); the old connections drain meanwhile.
            old_listener = prev_listener.take();
        }
        let health = match prev_shared {
            Some(s) => s.health(),
            None => health(),
        };
        let shared = Arc::new(Shared::new(&self.name, mux, max_conns, health, stats));
        let listener = Listener::start(shared.clone(), config, old_listener.as_ref());
        *self.listener.lock() = Some(listener);
        let _ = self.shared.set(shared);
    }

    /// `running`, `failed`, `closed` or `nil` (not started yet).
    pub fn state(&self) -> &'static str {
        self.shared.get().map_or(State::Nil, |s| s.state()).as_str()
    }

    /// The status object.
    pub fn status(&self) -> Value {
        match self.shared.get() {
            Some(s) => s.status(),
            None => json!({"name": self.name, "state": "nil"}),
        }
    }

    /// Stops the listener if this generation still holds it, and marks the gate closed
    /// (health 0) unless a successor took over serving it.
    pub fn close(&self) {
        if let Some(l) = self.listener.lock().take() {
            l.stop();
        }
        if !self.superseded.load(Ordering::Acquire) {
            if let Some(s) = self.shared.get() {
                s.close();
            }
        }
    }
}
