//! The route cache (`cacheSize`): decisions keyed by host + method + path.
//!
//! Direct-mapped: the key's hash picks one of `cacheSize` slots, each an atomically
//! swapped entry, so lookups and inserts take no lock. Only decisions that depend on
//! nothing but the key are stored (no header, query or IP conditions consulted, no path
//! parameters), and 404/405 answers too.
//!
//! A RadixTree match that captured parameters (`/users/{id}`, `/files/*`) is not stored:
//! its parameters feed `rewriteTarget` and `setHeaders`, so an entry would have to carry
//! them, and such routes see one path per user or file: caching them would mostly evict
//! the entries of fixed paths from their slots. A match without parameters is stored and
//! its hit costs what it did.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use arc_swap::ArcSwapOption;
use http::{Method, StatusCode};

/// A cached decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cached {
    /// The index of the matched route.
    Route(usize),
    /// A failure status (404 or 405).
    Status(StatusCode),
}

#[derive(Debug)]
struct Entry {
    host: Box<str>,
    method: Method,
    path: Box<str>,
    value: Cached,
}

/// A fixed number of slots.
#[derive(Debug)]
pub(crate) struct RouteCache {
    slots: Box<[ArcSwapOption<Entry>]>,
}

fn slot_of(n: usize, host: &str, method: &Method, path: &str) -> usize {
    let mut h = fnv::FnvHasher::default();
    host.hash(&mut h);
    method.as_str().hash(&mut h);
    path.hash(&mut h);
    (h.finish() % n as u64) as usize
}

impl RouteCache {
    /// A cache with `size` slots (at least one).
    pub fn new(size: u32) -> RouteCache {
        RouteCache {
            slots: (0..size.max(1)).map(|_| ArcSwapOption::empty()).collect(),
        }
    }

    /// The cached decision for the key, if any.
    pub fn get(&self, host: &str, method: &Method, path: &str) -> Option<Cached> {
        let slot = &self.slots[slot_of(self.slots.len(), host, method, path)];
        let guard = slot.load();
        let e = guard.as_ref()?;
        (*e.host == *host && e.method == method && *e.path == *path).then_some(e.value)
    }

    /// Stores a decision, replacing whatever shared its slot.
    pub fn put(&self, host: &str, method: &Method, path: &str, value: Cached) {
        let slot = &self.slots[slot_of(self.slots.len(), host, method, path)];
        slot.store(Some(Arc::new(Entry {
            host: host.into(),
            method: method.clone(),
            path: path.into(),
            value,
        })));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_and_replaces() {
        let c = RouteCache::new(1);
        assert_eq!(c.get("a", &Method::GET, "/x"), None);
        c.put("a", &Method::GET, "/x", Cached::Route(3));
        assert_eq!(c.get("a", &Method::GET, "/x"), Some(Cached::Route(3)));
        assert_eq!(c.get("a", &Method::POST, "/x"), None);
        c.put(
            "a",
            &Method::GET,
            "/y",
            Cached::Status(StatusCode::NOT_FOUND),
        );
        assert_eq!(c.get("a", &Method::GET, "/x"), None);
        assert_eq!(
            c.get("a", &Method::GET, "/y"),
            Some(Cached::Status(StatusCode::NOT_FOUND))
        );
    }
}
