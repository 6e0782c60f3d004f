//! The embedded, crash-safe store kept in `--data-dir` (redb).

use std::path::Path;

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use tokio::sync::mpsc::UnboundedReceiver;

use crate::watch::{WatchEvent, Watchers};
use crate::{check_conds, parse_counter, Cond, Op, Store, StoreError, StoreResult};

/// File name of the database inside the data directory.
pub const DB_FILE: &str = "easegress.redb";

const KV: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("kv");
const META: TableDefinition<'_, &str, u64> = TableDefinition::new("meta");
const REVISION: &str = "revision";

fn backend<E: std::fmt::Display>(e: E) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// A [`Store`] in one redb file. Every batch is one write transaction committed with
/// immediate durability, so an acknowledged write survives `kill -9` and power loss.
pub struct RedbStore {
    db: Database,
    /// Serialises writers so that watch events leave in revision order.
    write_lock: parking_lot::Mutex<u64>,
    watchers: Watchers,
}

impl RedbStore {
    /// Opens (or creates) the store in directory `dir`.
    pub fn open(dir: &Path) -> StoreResult<RedbStore> {
        std::fs::create_dir_all(dir).map_err(|e| {
            StoreError::Backend(format!("cannot create data dir {}: {e}", dir.display()))
        })?;
        let path = dir.join(DB_FILE);
        let db = Database::create(&path)
            .map_err(|e| StoreError::Backend(format!("cannot open {}: {e}", path.display())))?;
        let txn = db.begin_write().map_err(backend)?;
        let revision = {
            txn.open_table(KV).map_err(backend)?;
            let meta = txn.open_table(META).map_err(backend)?;
            let rev = meta
                .get(REVISION)
                .map_err(backend)?
                .map(|g| g.value())
                .unwrap_or(0);
            rev
        };
        txn.commit().map_err(backend)?;
        Ok(RedbStore {
            db,
            write_lock: parking_lot::Mutex::new(revision),
            watchers: Watchers::default(),
        })
    }
}

impl RedbStore {
    /// One write transaction: `check` runs inside it before the ops; any error aborts it.
    fn write(
        &self,
        ops: Vec<Op>,
        check: impl FnOnce(&redb::Table<'_, &str, &[u8]>) -> StoreResult<()>,
    ) -> StoreResult<u64> {
        let mut rev = self.write_lock.lock();
        let txn = self.db.begin_write().map_err(backend)?;
        let next = *rev + 1;
        let mut events = Vec::with_capacity(ops.len());
        {
            let mut table = txn.open_table(KV).map_err(backend)?;
            check(&table)?;
            for op in ops {
                match op {
                    Op::Put(key, value) | Op::PutEphemeral(key, value) => {
                        table
                            .insert(key.as_str(), value.as_slice())
                            .map_err(backend)?;
                        events.push(WatchEvent::Put {
                            key,
                            value,
                            revision: next,
                        });
                    }
                    Op::Delete(key) => {
                        if table.remove(key.as_str()).map_err(backend)?.is_some() {
                            events.push(WatchEvent::Delete {
                                key,
                                revision: next,
                            });
                        }
                    }
                    Op::Increment(key) => {
                        let n = {
                            let cur = table.get(key.as_str()).map_err(backend)?;
                            parse_counter(&key, cur.as_ref().map(|g| g.value()))?
                        };
                        let value = (n + 1).to_string().into_bytes();
                        table
                            .insert(key.as_str(), value.as_slice())
                            .map_err(backend)?;
                        events.push(WatchEvent::Put {
                            key,
                            value,
                            revision: next,
                        });
                    }
                }
            }
            let mut meta = txn.open_table(META).map_err(backend)?;
            meta.insert(REVISION, next).map_err(backend)?;
        }
        txn.commit().map_err(backend)?;
        *rev = next;
        self.watchers.publish(&events);
        Ok(next)
    }
}

impl Store for RedbStore {
    fn get(&self, key: &str) -> StoreResult<Option<Vec<u8>>> {
        let txn = self.db.begin_read().map_err(backend)?;
        let table = txn.open_table(KV).map_err(backend)?;
        Ok(table.get(key).map_err(backend)?.map(|g| g.value().to_vec()))
    }

    fn range(&self, prefix: &str) -> StoreResult<Vec<(String, Vec<u8>)>> {
        let txn = self.db.begin_read().map_err(backend)?;
        let table = txn.open_table(KV).map_err(backend)?;
        let mut out = Vec::new();
        for item in table.range(prefix..).map_err(backend)? {
            let (k, v) = item.map_err(backend)?;
            let key = k.value();
            if !key.starts_with(prefix) {
                break;
            }
            out.push((key.to_string(), v.value().to_vec()));
        }
        Ok(out)
    }

    fn apply(&self, ops: Vec<Op>, expect_absent: Option<&str>) -> StoreResult<u64> {
        self.write(ops, |table| {
            if let Some(k) = expect_absent {
                if table.get(k).map_err(backend)?.is_some() {
                    return Err(StoreError::Conflict(k.to_string()));
                }
            }
            Ok(())
        })
    }

    fn apply_if(&self, ops: Vec<Op>, conds: Vec<Cond>) -> StoreResult<u64> {
        self.write(ops, |table| {
            check_conds(&conds, |k| {
                Ok(table.get(k).map_err(backend)?.map(|g| g.value().to_vec()))
            })
        })
    }

    fn revision(&self) -> u64 {
        *self.write_lock.lock()
    }

    fn watch(&self, prefix: &str) -> UnboundedReceiver<WatchEvent> {
        self.watchers.subscribe(prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn survives_reopen_with_revision() {
        let dir = tempfile::tempdir().unwrap();
        {
            let s = RedbStore::open(dir.path()).unwrap();
            s.put("/config/objects/a", b"1".to_vec()).unwrap();
            s.put("/config/objects/b", b"2".to_vec()).unwrap();
            assert!(s.delete("/config/objects/a").unwrap());
            assert_eq!(s.revision(), 3);
        }
        let s = RedbStore::open(dir.path()).unwrap();
        assert_eq!(s.revision(), 3);
        assert_eq!(s.get("/config/objects/a").unwrap(), None);
        assert_eq!(
            s.range("/config/objects/").unwrap(),
            vec![("/config/objects/b".to_string(), b"2".to_vec())]
        );
    }

    #[test]
    fn conflict_leaves_store_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let s = RedbStore::open(dir.path()).unwrap();
        s.put("k", b"1".to_vec()).unwrap();
        let err = s
            .apply(vec![Op::Put("k".into(), b"2".to_vec())], Some("k"))
            .unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)));
        assert_eq!(s.get("k").unwrap(), Some(b"1".to_vec()));
        assert_eq!(s.revision(), 1);
    }

    #[test]
    fn watch_sees_changes_under_prefix() {
        let dir = tempfile::tempdir().unwrap();
        let s = RedbStore::open(dir.path()).unwrap();
        let mut rx = s.watch("/config/objects/");
        s.put("/other", b"x".to_vec()).unwrap();
        s.put("/config/objects/a", b"1".to_vec()).unwrap();
        s.delete("/config/objects/a").unwrap();
        assert_eq!(
            rx.try_recv().unwrap(),
            WatchEvent::Put {
                key: "/config/objects/a".into(),
                value: b"1".to_vec(),
                revision: 2
            }
        );
        assert_eq!(
            rx.try_recv().unwrap(),
            WatchEvent::Delete {
                key: "/config/objects/a".into(),
                revision: 3
            }
        );
        assert!(rx.try_recv().is_err());
    }

    #[test]
    fn conditional_batch_and_increment_are_one_transaction() {
        let dir = tempfile::tempdir().unwrap();
        let s = RedbStore::open(dir.path()).unwrap();
        s.apply(vec![Op::Increment("/config/version".into())], None)
            .unwrap();
        let err = s
            .apply_if(
                vec![
                    Op::Increment("/config/version".into()),
                    Op::Put("/x".into(), b"1".to_vec()),
                ],
                vec![Cond::Value("/config/version".into(), b"7".to_vec())],
            )
            .unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)));
        s.apply_if(
            vec![
                Op::Increment("/config/version".into()),
                Op::PutEphemeral("/x".into(), b"1".to_vec()),
            ],
            vec![
                Cond::Value("/config/version".into(), b"1".to_vec()),
                Cond::Absent("/x".into()),
            ],
        )
        .unwrap();
        assert_eq!(s.get("/config/version").unwrap(), Some(b"2".to_vec()));
        assert_eq!(s.get("/x").unwrap(), Some(b"1".to_vec()));
        assert_eq!(s.revision(), 2);
    }
}
