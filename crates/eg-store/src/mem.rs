//! In-memory store for tests.

use std::collections::BTreeMap;

use parking_lot::Mutex;
use tokio::sync::mpsc::UnboundedReceiver;

use crate::watch::{WatchEvent, Watchers};
use crate::{check_conds, parse_counter, Cond, Op, Store, StoreError, StoreResult};

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

impl MemStore {
    fn write(
        &self,
        ops: Vec<Op>,
        check: impl FnOnce(&BTreeMap<String, Vec<u8>>) -> StoreResult<()>,
    ) -> StoreResult<u64> {
        let mut inner = self.inner.lock();
        check(&inner.0)?;
        for op in &ops {
            if let Op::Increment(key) = op {
                parse_counter(key, inner.0.get(key).map(Vec::as_slice))?;
            }
        }
        let revision = inner.1 + 1;
        let mut events = Vec::with_capacity(ops.len());
        for op in ops {
            match op {
                Op::Put(key, value) | Op::PutEphemeral(key, value) => {
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
                Op::Increment(key) => {
                    // Checked above; a value put earlier in this batch restarts the count.
                    let n = parse_counter(&key, inner.0.get(&key).map(Vec::as_slice)).unwrap_or(0);
                    let value = (n + 1).to_string().into_bytes();
                    inner.0.insert(key.clone(), value.clone());
                    events.push(WatchEvent::Put {
                        key,
                        value,
                        revision,
                    });
                }
            }
        }
        inner.1 = revision;
        self.watchers.publish(&events);
        Ok(revision)
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
        self.write(ops, |map| match expect_absent {
            Some(k) if map.contains_key(k) => Err(StoreError::Conflict(k.to_string())),
            _ => Ok(()),
        })
    }

    fn apply_if(&self, ops: Vec<Op>, conds: Vec<Cond>) -> StoreResult<u64> {
        self.write(ops, |map| check_conds(&conds, |k| Ok(map.get(k).cloned())))
    }

    fn revision(&self) -> u64 {
        self.inner.lock().1
    }

    fn watch(&self, prefix: &str) -> UnboundedReceiver<WatchEvent> {
        self.watchers.subscribe(prefix)
    }
}
