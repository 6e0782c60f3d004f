//! Prefix watch fan-out shared by the backends.

use parking_lot::Mutex;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

/// A change seen by a watcher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchEvent {
    /// `key` now holds `value` (as of `revision`).
    Put {
        /// The key written.
        key: String,
        /// Its new value.
        value: Vec<u8>,
        /// Store revision of the write.
        revision: u64,
    },
    /// `key` was removed.
    Delete {
        /// The key removed.
        key: String,
        /// Store revision of the removal.
        revision: u64,
    },
}

impl WatchEvent {
    /// The key the event is about.
    pub fn key(&self) -> &str {
        match self {
            WatchEvent::Put { key, .. } | WatchEvent::Delete { key, .. } => key,
        }
    }
}

/// The registered watchers of a store. Closed receivers are dropped on the next send.
#[derive(Default)]
pub struct Watchers {
    subs: Mutex<Vec<(String, UnboundedSender<WatchEvent>)>>,
}

impl Watchers {
    /// Registers a watcher of `prefix`.
    pub fn subscribe(&self, prefix: &str) -> UnboundedReceiver<WatchEvent> {
        let (tx, rx) = unbounded_channel();
        self.subs.lock().push((prefix.to_string(), tx));
        rx
    }

    /// Sends `events` to every watcher whose prefix matches, in order.
    pub fn publish(&self, events: &[WatchEvent]) {
        let mut subs = self.subs.lock();
        subs.retain(|(prefix, tx)| {
            for ev in events
                .iter()
                .filter(|e| e.key().starts_with(prefix.as_str()))
            {
                if tx.send(ev.clone()).is_err() {
                    return false;
                }
            }
            !tx.is_closed()
        });
    }
}
