//! A WasmHost's shared data: string values in the store under
//! `/wasm/data/<pipeline>/<filter>/<key>`, as Easegress keeps them (so a cluster shares
//! them, and `egctl wasm list-data/apply-data/delete-data` manage them).

use std::sync::Arc;
use std::time::Duration;

use eg_store::{keys, Op, Store, StoreResult};

/// How long an `add` waits for the store's write lock.
const LOCK_TIMEOUT: Duration = Duration::from_secs(5);

/// One filter's shared data.
pub struct SharedData {
    store: Arc<dyn Store>,
    prefix: String,
}

impl SharedData {
    /// The shared data of filter `filter` of pipeline `pipeline` in `store`.
    pub fn new(store: Arc<dyn Store>, pipeline: &str, filter: &str) -> SharedData {
        SharedData {
            store,
            prefix: keys::wasm_data(pipeline, filter),
        }
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    /// The value of `key`, if any.
    pub fn get(&self, key: &str) -> StoreResult<Option<String>> {
        Ok(self
            .store
            .get(&self.key(key))?
            .map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    /// Sets `key` to `value`. Blocks for a disk write (or an etcd round trip).
    pub fn put(&self, key: &str, value: String) -> StoreResult<()> {
        self.store.put(&self.key(key), value.into_bytes()).map(drop)
    }

    /// Replaces the value of `key` by `update(old)` under the store's write lock, so that
    /// concurrent updates (from this member or others) are not lost; returns what `update`
    /// returned.
    pub fn update<T>(
        &self,
        key: &str,
        update: impl FnOnce(Option<&str>) -> (String, T),
    ) -> StoreResult<T> {
        let _lock = self.store.write_lock(LOCK_TIMEOUT)?;
        let key = self.key(key);
        let old = self
            .store
            .get(&key)?
            .map(|v| String::from_utf8_lossy(&v).into_owned());
        let (new, out) = update(old.as_deref());
        self.store
            .apply(vec![Op::Put(key, new.into_bytes())], None)?;
        Ok(out)
    }

    /// How many keys start with `prefix`.
    pub fn count(&self, prefix: &str) -> StoreResult<usize> {
        Ok(self.store.range(&self.key(prefix))?.len())
    }
}
