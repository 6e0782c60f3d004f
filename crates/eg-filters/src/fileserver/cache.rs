//! The buffer pool: contents of small files kept in memory, bounded in bytes, least
//! recently used first out, each entry living `bufferPoolTTL` and dropped as soon as the
//! file's size or modification time differs from what was read.

use std::collections::{BTreeMap, HashMap};
use std::fs::Metadata;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use parking_lot::Mutex;
use serde_json::{json, Value};

use super::metrics::PoolMetrics;

/// A file's contents and their strong `ETag`.
#[derive(Debug, Clone)]
pub struct Cached {
    /// The bytes.
    pub data: Bytes,
    /// `"<sha1 hex>"`.
    pub etag: Arc<str>,
}

impl Cached {
    /// `data` with its content hash as `ETag`, as Easegress makes it for small files.
    pub fn new(data: Bytes) -> Cached {
        let digest = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, &data);
        let mut etag = String::with_capacity(42);
        etag.push('"');
        for b in digest.as_ref() {
            etag.push_str(&format!("{b:02x}"));
        }
        etag.push('"');
        Cached {
            data,
            etag: etag.into(),
        }
    }
}

struct Entry {
    cached: Cached,
    len: u64,
    modified: Option<SystemTime>,
    expires: Instant,
    tick: u64,
}

#[derive(Default)]
struct Lru {
    entries: HashMap<PathBuf, Entry>,
    /// Use order: tick → path; the smallest tick is the least recently used.
    order: BTreeMap<u64, PathBuf>,
    next_tick: u64,
    bytes: u64,
}

impl Lru {
    fn remove(&mut self, path: &Path) {
        if let Some(e) = self.entries.remove(path) {
            self.order.remove(&e.tick);
            self.bytes -= e.len;
        }
    }

    fn tick(&mut self) -> u64 {
        self.next_tick += 1;
        self.next_tick
    }
}

/// The pool.
pub struct BufferPool {
    lru: Mutex<Lru>,
    max_bytes: u64,
    ttl: Duration,
    hits: AtomicU64,
    misses: AtomicU64,
    evictions: AtomicU64,
    metrics: Option<PoolMetrics>,
}

/// Why a cached entry is not used.
enum Stale {
    Expired,
    Changed,
}

impl BufferPool {
    /// A pool holding at most `max_bytes`, entries living `ttl`.
    pub fn new(max_bytes: u64, ttl: Duration) -> BufferPool {
        BufferPool {
            lru: Mutex::new(Lru::default()),
            max_bytes,
            ttl,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            evictions: AtomicU64::new(0),
            metrics: None,
        }
    }

    /// This pool, also counting in the Prometheus series `m`.
    pub fn with_metrics(self, m: PoolMetrics) -> BufferPool {
        BufferPool {
            metrics: Some(m),
            ..self
        }
    }

    /// Counts an eviction (for age when `ttl`) and shows the pool's new size.
    fn evicted(&self, lru: &Lru, ttl: bool) {
        self.evictions.fetch_add(1, Ordering::Relaxed);
        if let Some(m) = &self.metrics {
            m.evicts.inc();
            if ttl {
                m.ttl_evicts.inc();
            }
        }
        self.show_size(lru);
    }

    fn show_size(&self, lru: &Lru) {
        if let Some(m) = &self.metrics {
            m.size.set(lru.bytes);
            m.files.set(lru.entries.len() as u64);
        }
    }

    /// The contents of `path` when cached, unexpired and read from the file `meta`
    /// describes (same size and modification time).
    pub fn get(&self, path: &Path, meta: &Metadata) -> Option<Cached> {
        let mut lru = self.lru.lock();
        let now = Instant::now();
        let state = lru.entries.get(path).map(|e| {
            if e.expires <= now {
                Err(Stale::Expired)
            } else if e.len != meta.len() || e.modified != meta.modified().ok() {
                Err(Stale::Changed)
            } else {
                Ok(())
            }
        });
        let out = match state {
            Some(Ok(())) => {
                let tick = lru.tick();
                let e = lru.entries.get_mut(path)?;
                let old = std::mem::replace(&mut e.tick, tick);
                let cached = e.cached.clone();
                lru.order.remove(&old);
                lru.order.insert(tick, path.to_path_buf());
                Some(cached)
            }
            Some(Err(why)) => {
                lru.remove(path);
                self.evicted(&lru, matches!(why, Stale::Expired));
                None
            }
            None => None,
        };
        drop(lru);
        let (counter, series) = match (&out, &self.metrics) {
            (Some(_), m) => (&self.hits, m.as_ref().map(|m| &m.hits)),
            (None, m) => (&self.misses, m.as_ref().map(|m| &m.misses)),
        };
        counter.fetch_add(1, Ordering::Relaxed);
        if let Some(c) = series {
            c.inc();
        }
        out
    }

    /// Keeps `cached`, read from the file `meta` describes, evicting the least recently
    /// used entries to make room; contents larger than the whole pool are not kept.
    pub fn insert(&self, path: &Path, meta: &Metadata, cached: Cached) {
        let len = cached.data.len() as u64;
        if len > self.max_bytes {
            return;
        }
        let mut lru = self.lru.lock();
        lru.remove(path);
        while lru.bytes + len > self.max_bytes {
            let Some((_, oldest)) = lru.order.pop_first() else {
                break;
            };
            if let Some(e) = lru.entries.remove(&oldest) {
                lru.bytes -= e.len;
                self.evicted(&lru, false);
            }
        }
        let tick = lru.tick();
        lru.order.insert(tick, path.to_path_buf());
        lru.bytes += len;
        lru.entries.insert(
            path.to_path_buf(),
            Entry {
                cached,
                len,
                modified: meta.modified().ok(),
                expires: Instant::now() + self.ttl,
                tick,
            },
        );
        self.show_size(&lru);
    }

    /// Files and bytes held, hits, misses and evictions.
    pub fn status(&self) -> Value {
        let (files, bytes) = {
            let lru = self.lru.lock();
            (lru.entries.len(), lru.bytes)
        };
        json!({
            "files": files,
            "bytes": bytes,
            "hits": self.hits.load(Ordering::Relaxed),
            "misses": self.misses.load(Ordering::Relaxed),
            "evictions": self.evictions.load(Ordering::Relaxed),
        })
    }
}
