//! In-memory store for tests.

use std::collections::BTreeMap;

use parking_lot::Mutex;
use tokio::sync::mpsc::UnboundedReceiver;

use crate::watch::{WatchEvent, Watchers};
use crate::{Op, Store, StoreError, StoreResult};

/// A [`Store`] that keeps everything in memory and loses it on exit.
#[derive(Default)]
pub struct MemStore {
    inner: Mutex<(BTreeMap<String, Vec<u8>>, u64)>,
    watchers: Watchers,
}

impl MemStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Store for MemStore {
    fn get(&self, key: &str) -> StoreResult<Option<Vec<u8>>> {
        Ok(self.inner.lock().0.get(key).cloned())
    }

    fn range(&self, prefix: &str) -> StoreResult<Vec<(String, Vec<u8>)>> {
        let inner = self.inner.lock();
        Ok(inner
            .0
            .range(prefix.to_string()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    fn apply(&self, ops: Vec<Op>, expect_absent: Option<&str>) -> StoreResult<u64> {
        let revision = {
            let mut inner = self.inner.lock();
            if let Some(k) = expect_absent {
                if inner.0.contains_key(k) {
                    return Err(StoreError::Conflict(k.to_string()));
                }
            }
            inner.1 += 1;
            let revision = inner.1;
            let mut events = Vec::with_capacity(ops.len());
            for op in ops {
                match op {
                    Op::Put(key, value) => {
                        inner.0.insert(key.clone(), value.clone());
                        events.push(WatchEvent::Put {
                            key,
                            value,
                            revision,
                        });
                    }
                    Op::Delete(key) => {
                        if inner.0.remove(&key).is_some() {
                            events.push(WatchEvent::Delete { key, revision });
                        }
                    }
                }
            }
            self.watchers.publish(&events);
            revision
        };
        Ok(revision)
    }

    fn revision(&self) -> u64 {
        self.inner.lock().1
    }

    fn watch(&self, prefix: &str) -> UnboundedReceiver<WatchEvent> {
        self.watchers.subscribe(prefix)
    }
}
