//! The store layer: durable key/value state with watches.
//!
//! Everything the control plane keeps lives behind the [`Store`] trait, under Easegress's
//! key layout ([`keys`]). Two backends ship here: [`RedbStore`], the crash-safe embedded
//! default kept in `--data-dir`, and [`MemStore`] for tests. A cluster backend (etcd) plugs
//! in behind the same trait.
#![forbid(unsafe_code)]

pub mod keys;
mod lock;
mod mem;
mod redb_store;
mod watch;

pub use lock::{LocalLock, WriteLock};
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
    /// The backend is out of reach (a cluster store whose etcd cannot be reached); reads
    /// may still answer from a local copy.
    #[error("{0}")]
    Unavailable(String),
    /// The backend cannot evaluate this request (e.g. a condition it does not track).
    #[error("not supported by this store: {0}")]
    Unsupported(String),
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
    /// Set `key` to `value` for as long as this member lives: a cluster store binds the key
    /// to the member's lease, so it vanishes when the member is purged. A plain put in
    /// embedded stores.
    PutEphemeral(String, Vec<u8>),
    /// Set `key` to its decimal value plus one (`1` when absent), atomically with the rest of
    /// the batch, so concurrent writers never produce the same or a smaller value.
    Increment(String),
}

/// A precondition of [`Store::apply_if`]; the batch is refused with
/// [`StoreError::Conflict`] naming the key when one does not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cond {
    /// `key` does not exist.
    Absent(String),
    /// `key` exists and holds exactly this value.
    Value(String, Vec<u8>),
    /// `key` was last modified at this revision (see [`Store::get_versioned`]); `0` means
    /// the key does not exist. Only stores that track per-key revisions support it.
    ModRevision(String, u64),
}

impl Cond {
    /// The key the condition is about.
    pub fn key(&self) -> &str {
        match self {
            Cond::Absent(k) | Cond::Value(k, _) | Cond::ModRevision(k, _) => k,
        }
    }
}

/// A value with the revision of its last modification (`0` when the store does not track it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned {
    /// The value.
    pub value: Vec<u8>,
    /// Revision of the last write of the key, or `0` if not tracked.
    pub mod_revision: u64,
}

/// Parses a decimal counter value as [`Op::Increment`] does.
pub fn parse_counter(key: &str, value: Option<&[u8]>) -> StoreResult<u64> {
    match value {
        None => Ok(0),
        Some(v) => std::str::from_utf8(v)
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .ok_or_else(|| StoreError::Backend(format!("{key} does not hold a decimal counter"))),
    }
}

/// Checks `conds` against a reader of current values (used by the embedded backends inside
/// their write transaction).
fn check_conds(
    conds: &[Cond],
    mut current: impl FnMut(&str) -> StoreResult<Option<Vec<u8>>>,
) -> StoreResult<()> {
    for c in conds {
        let ok = match c {
            Cond::Absent(k) => current(k)?.is_none(),
            Cond::Value(k, v) => current(k)?.as_deref() == Some(v.as_slice()),
            Cond::ModRevision(..) => {
                return Err(StoreError::Unsupported(
                    "per-key revisions are not tracked".into(),
                ))
            }
        };
        if !ok {
            return Err(StoreError::Conflict(c.key().to_string()));
        }
    }
    Ok(())
}

/// Durable key/value state with prefix watches.
///
/// Every successful write bumps the store's revision (by one in the embedded stores; a
/// cluster store reports etcd's revision). Reads never block on the network. Writes block
/// for the time of a local disk write, or of a cluster round trip: callers on an async
/// runtime use `spawn_blocking` for writes.
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

    /// Applies `ops` atomically if every condition holds, else fails with
    /// [`StoreError::Conflict`] naming the first key whose condition failed.
    ///
    /// The default handles no condition or a single [`Cond::Absent`] through [`Store::apply`].
    fn apply_if(&self, ops: Vec<Op>, conds: Vec<Cond>) -> StoreResult<u64> {
        match conds.as_slice() {
            [] => self.apply(ops, None),
            [Cond::Absent(k)] => self.apply(ops, Some(k)),
            _ => Err(StoreError::Unsupported(
                "conditions other than one absent key".into(),
            )),
        }
    }

    /// The value at `key` with the revision of its last write, when the store tracks it.
    fn get_versioned(&self, key: &str) -> StoreResult<Option<Versioned>> {
        Ok(self.get(key)?.map(|value| Versioned {
            value,
            mod_revision: 0,
        }))
    }

    /// Takes the write lock that serialises check-then-write sequences of every writer of
    /// this store, waiting at most `timeout`. Blocks: call it from `spawn_blocking`.
    ///
    /// The default is one lock per process, enough for a store only this process writes.
    fn write_lock(&self, timeout: std::time::Duration) -> StoreResult<WriteLock> {
        static LOCAL: std::sync::LazyLock<std::sync::Arc<LocalLock>> =
            std::sync::LazyLock::new(LocalLock::new);
        LOCAL.acquire(timeout)
    }

    /// How many times this store's view had to be rebuilt from scratch because its change
    /// feed broke (e.g. etcd compacted the revisions a watch still needed). Watchers got the
    /// differences as ordinary events; this counter lets a caller notice it happened.
    fn resync_count(&self) -> u64 {
        0
    }

    /// Whether the store holds the state it should serve: `Err` says why not (a cluster
    /// store still waiting for etcd, or refused by it). Embedded stores are always ready.
    fn health(&self) -> Result<(), String> {
        Ok(())
    }

    /// Removes what the cluster keeps for another member `member` (its etcd membership
    /// and every key written under its lease); `false` when no such member is known.
    /// Blocks: call it from `spawn_blocking`. Embedded stores have no other members.
    fn purge_member(&self, member: &str) -> StoreResult<bool> {
        let _ = member;
        Ok(false)
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
