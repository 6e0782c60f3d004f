//! The embedded, crash-safe store kept in `--data-dir` (redb).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use parking_lot::RwLock;
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
///
/// redb holds an exclusive lock on its file, so a process that hands the store to its
/// successor (a binary upgrade) [releases](RedbStore::release) it first: it then answers
/// reads from a copy taken at that moment and refuses writes as unavailable, until it
/// [reopens](RedbStore::reopen) the file because the successor failed.
pub struct RedbStore {
    path: PathBuf,
    db: RwLock<Backing>,
    /// Serialises writers so that watch events leave in revision order.
    write_lock: parking_lot::Mutex<u64>,
    watchers: Watchers,
}

/// What the store reads from.
enum Backing {
    /// The database file, locked by this process.
    Open(Database),
    /// Released: every pair as it was then.
    Released(BTreeMap<String, Vec<u8>>),
}

/// The message of writes refused while the store is released.
pub const RELEASED: &str = "upgrading: the store is being handed to the new process; retry shortly";

impl RedbStore {
    /// Opens (or creates) the store in directory `dir`.
    pub fn open(dir: &Path) -> StoreResult<RedbStore> {
        std::fs::create_dir_all(dir).map_err(|e| {
            StoreError::Backend(format!("cannot create data dir {}: {e}", dir.display()))
        })?;
        let path = dir.join(DB_FILE);
        let (db, revision) = open_file(&path)?;
        Ok(RedbStore {
            path,
            db: RwLock::new(Backing::Open(db)),
            write_lock: parking_lot::Mutex::new(revision),
            watchers: Watchers::default(),
        })
    }

    /// Closes the database file (releasing its lock) after the writes in progress; reads are
    /// then answered from a copy of the current state and writes fail with
    /// [`StoreError::Unavailable`]. Nothing happens when it is released already.
    pub fn release(&self) -> StoreResult<()> {
        let _writers = self.write_lock.lock();
        let mut db = self.db.write();
        if let Backing::Open(d) = &*db {
            let copy = read_all(d)?;
            *db = Backing::Released(copy);
        }
        Ok(())
    }

    /// Opens the file again after [`RedbStore::release`]. Changes written to it in between
    /// (by the process it was handed to) reach the watchers as ordinary events.
    pub fn reopen(&self) -> StoreResult<()> {
        let mut rev = self.write_lock.lock();
        let mut db = self.db.write();
        let Backing::Released(before) = &*db else {
            return Ok(());
        };
        let (file, revision) = open_file(&self.path)?;
        let now = read_all(&file)?;
        let mut events = Vec::new();
        for (key, value) in &now {
            if before.get(key) != Some(value) {
                events.push(WatchEvent::Put {
                    key: key.clone(),
                    value: value.clone(),
                    revision,
                });
            }
        }
        for key in before.keys() {
            if !now.contains_key(key) {
                events.push(WatchEvent::Delete {
                    key: key.clone(),
                    revision,
                });
            }
        }
        *db = Backing::Open(file);
        *rev = revision.max(*rev);
        drop(db);
        self.watchers.publish(&events);
        Ok(())
    }

    /// Whether the file is released (see [`RedbStore::release`]).
    pub fn is_released(&self) -> bool {
        matches!(&*self.db.read(), Backing::Released(_))
    }
}

/// Every pair of the store.
fn read_all(db: &Database) -> StoreResult<BTreeMap<String, Vec<u8>>> {
    let txn = db.begin_read().map_err(backend)?;
    let table = txn.open_table(KV).map_err(backend)?;
    let mut out = BTreeMap::new();
    for item in table.iter().map_err(backend)? {
        let (k, v) = item.map_err(backend)?;
        out.insert(k.value().to_string(), v.value().to_vec());
    }
    Ok(out)
}

/// Opens (or creates) the database file; returns it with its revision.
fn open_file(path: &Path) -> StoreResult<(Database, u64)> {
    let db = Database::create(path)
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
    Ok((db, revision))
}

impl RedbStore {
    /// One write transaction: `check` runs inside it before the ops; any error aborts it.
    fn write(
        &self,
        ops: Vec<Op>,
        check: impl FnOnce(&redb::Table<'_, &str, &[u8]>) -> StoreResult<()>,
    ) -> StoreResult<u64> {
        let mut rev = self.write_lock.lock();
        let db = self.db.read();
        let Backing::Open(db) = &*db else {
            return Err(StoreError::Unavailable(RELEASED.into()));
        };
        let txn = db.begin_write().map_err(backend)?;
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
        let db = self.db.read();
        let db = match &*db {
            Backing::Open(db) => db,
            Backing::Released(copy) => return Ok(copy.get(key).cloned()),
        };
        let txn = db.begin_read().map_err(backend)?;
        let table = txn.open_table(KV).map_err(backend)?;
        Ok(table.get(key).map_err(backend)?.map(|g| g.value().to_vec()))
    }

    fn range(&self, prefix: &str) -> StoreResult<Vec<(String, Vec<u8>)>> {
        let db = self.db.read();
        let db = match &*db {
            Backing::Open(db) => db,
            Backing::Released(copy) => {
                return Ok(copy
                    .range(prefix.to_string()..)
                    .take_while(|(k, _)| k.starts_with(prefix))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect())
            }
        };
        let txn = db.begin_read().map_err(backend)?;
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
    fn a_released_store_reads_its_copy_refuses_writes_and_lets_another_open_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let s = RedbStore::open(dir.path()).unwrap();
        s.put("/config/objects/a", b"1".to_vec()).unwrap();
        s.put("/config/objects/b", b"2".to_vec()).unwrap();
        let mut rx = s.watch("/config/objects/");
        s.release().unwrap();
        assert!(s.is_released());
        assert_eq!(s.get("/config/objects/a").unwrap(), Some(b"1".to_vec()));
        assert_eq!(s.range("/config/objects/").unwrap().len(), 2);
        assert!(s.range("/config/objects/c").unwrap().is_empty());
        let err = s.put("/config/objects/c", b"3".to_vec()).unwrap_err();
        assert!(matches!(err, StoreError::Unavailable(ref m) if m.contains("upgrading")));
        // The file is free: another process (here another handle) opens it and writes.
        {
            let other = RedbStore::open(dir.path()).unwrap();
            other.put("/config/objects/c", b"3".to_vec()).unwrap();
            other.delete("/config/objects/a").unwrap();
        }
        s.reopen().unwrap();
        assert!(!s.is_released());
        assert_eq!(s.revision(), 4);
        let mut seen = Vec::new();
        while let Ok(ev) = rx.try_recv() {
            seen.push(ev);
        }
        assert_eq!(
            seen,
            vec![
                WatchEvent::Put {
                    key: "/config/objects/c".into(),
                    value: b"3".to_vec(),
                    revision: 4
                },
                WatchEvent::Delete {
                    key: "/config/objects/a".into(),
                    revision: 4
                },
            ]
        );
        assert_eq!(s.put("/config/objects/d", b"4".to_vec()).unwrap(), 5);
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
