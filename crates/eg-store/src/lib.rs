//! The store layer: durable key/value state with watches.
//!
//! Everything the control plane keeps lives behind the [`Store`] trait, under Easegress's
//! key layout ([`keys`]). Two backends ship here: [`RedbStore`], the crash-safe embedded
//! default kept in `--data-dir`, and [`MemStore`] for tests. A cluster backend (etcd) plugs
//! in behind the same trait.
#![forbid(unsafe_code)]

pub mod keys;
mod mem;
mod redb_store;
mod watch;

pub use mem::MemStore;
pub use redb_store::RedbStore;
pub use watch::{WatchEvent, Watchers};

/// A store failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backend could not read or write.
    #[error("store backend error: {0}")]
    Backend(String),
    /// A compare-and-swap precondition did not hold.
    #[error("conflict on key {0}")]
    Conflict(String),
}

/// Result type of store operations.
pub type StoreResult<T> = Result<T, StoreError>;

/// One write of an atomic batch.
#[derive(Debug, Clone)]
pub enum Op {
    /// Set `key` to `value`.
    Put(String, Vec<u8>),
    /// Remove `key` (no error when absent).
    Delete(String),
}

/// Durable key/value state with prefix watches.
///
/// Every successful write bumps the store's revision by one. Calls block for the time of a
/// local disk write at most; callers on an async runtime use `spawn_blocking` for writes.
pub trait Store: Send + Sync + 'static {
    /// The value at `key`, if any.
    fn get(&self, key: &str) -> StoreResult<Option<Vec<u8>>>;

    /// All pairs whose key starts with `prefix`, sorted by key.
    fn range(&self, prefix: &str) -> StoreResult<Vec<(String, Vec<u8>)>>;

    /// Applies `ops` atomically and durably; returns the new revision. When `expect_absent`
    /// names a key, the batch fails with [`StoreError::Conflict`] if that key exists.
    fn apply(&self, ops: Vec<Op>, expect_absent: Option<&str>) -> StoreResult<u64>;

    /// The current revision (number of applied batches).
    fn revision(&self) -> u64;

    /// Subscribes to changes of keys under `prefix`, from now on.
    fn watch(&self, prefix: &str) -> tokio::sync::mpsc::UnboundedReceiver<WatchEvent>;

    /// Sets `key` to `value`.
    fn put(&self, key: &str, value: Vec<u8>) -> StoreResult<u64> {
        self.apply(vec![Op::Put(key.to_string(), value)], None)
    }

    /// Removes `key`; returns whether it existed.
    fn delete(&self, key: &str) -> StoreResult<bool> {
        let existed = self.get(key)?.is_some();
        if existed {
            self.apply(vec![Op::Delete(key.to_string())], None)?;
        }
        Ok(existed)
    }
}
