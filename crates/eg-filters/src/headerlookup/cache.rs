//! A small LRU cache of looked-up headers, invalidated by store changes.

use std::collections::HashMap;
use std::sync::Arc;

use http::{HeaderName, HeaderValue};
use parking_lot::Mutex;

/// The headers one item gives.
pub(super) type Headers = Arc<[(HeaderName, HeaderValue)]>;

struct Inner {
    /// id → (headers, last use).
    map: HashMap<String, (Headers, u64)>,
    tick: u64,
    /// Bumped by every invalidation: a value read from the store before an invalidation
    /// may be stale and is not kept.
    epoch: u64,
    disabled: bool,
}

/// An LRU map of at most `capacity` items.
pub(super) struct Cache {
    capacity: usize,
    inner: Mutex<Inner>,
}

impl Cache {
    pub(super) fn new(capacity: usize) -> Cache {
        Cache {
            capacity,
            inner: Mutex::new(Inner {
                map: HashMap::new(),
                tick: 0,
                epoch: 0,
                disabled: false,
            }),
        }
    }

    /// The cached headers of `id`, marking it used.
    pub(super) fn get(&self, id: &str) -> Option<Headers> {
        let mut g = self.inner.lock();
        g.tick += 1;
        let tick = g.tick;
        let e = g.map.get_mut(id)?;
        e.1 = tick;
        Some(e.0.clone())
    }

    /// The current epoch, to pass to [`Cache::put`] with what is read next.
    pub(super) fn epoch(&self) -> u64 {
        self.inner.lock().epoch
    }

    /// Keeps `headers` for `id` unless an invalidation happened since `epoch`; evicts the
    /// least recently used item past the capacity.
    pub(super) fn put(&self, id: &str, headers: Headers, epoch: u64) {
        let mut g = self.inner.lock();
        if g.disabled || g.epoch != epoch {
            return;
        }
        g.tick += 1;
        let tick = g.tick;
        g.map.insert(id.to_string(), (headers, tick));
        if g.map.len() > self.capacity {
            if let Some(oldest) = g
                .map
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(k, _)| k.clone())
            {
                g.map.remove(&oldest);
            }
        }
    }

    /// Drops `id` (its item changed).
    pub(super) fn invalidate(&self, id: &str) {
        let mut g = self.inner.lock();
        g.epoch += 1;
        g.map.remove(id);
    }

    /// Stops caching (no watch can keep the cache fresh).
    pub(super) fn disable(&self) {
        let mut g = self.inner.lock();
        g.disabled = true;
        g.map.clear();
    }

    pub(super) fn len(&self) -> usize {
        self.inner.lock().map.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h() -> Headers {
        Arc::from(vec![])
    }

    #[test]
    fn evicts_the_least_recently_used() {
        let c = Cache::new(2);
        c.put("a", h(), 0);
        c.put("b", h(), 0);
        assert!(c.get("a").is_some());
        c.put("c", h(), 0);
        assert_eq!(c.len(), 2);
        assert!(c.get("b").is_none(), "b was the least recently used");
        assert!(c.get("a").is_some() && c.get("c").is_some());
    }

    #[test]
    fn a_read_older_than_an_invalidation_is_not_kept() {
        let c = Cache::new(2);
        let epoch = c.epoch();
        c.invalidate("a");
        c.put("a", h(), epoch);
        assert!(c.get("a").is_none());
        c.put("a", h(), c.epoch());
        assert!(c.get("a").is_some());
        c.disable();
        c.put("b", h(), c.epoch());
        assert_eq!(c.len(), 0);
    }
}
