//! A pool's `memoryCache`: whole responses kept in memory for `expiration`, served without
//! calling the upstream.
//!
//! As Easegress: the key is the request's scheme, host (with port), path (no query) and
//! method; only listed methods are looked up and only listed statuses stored; a request
//! whose `Cache-Control` says `no-cache` is not served from the cache, and nothing is
//! stored when the request says `no-cache`/`no-store`, the response says
//! `no-cache`/`no-store`/`must-revalidate`, the response allows one origin only
//! (`Access-Control-Allow-Origin` set and not `*`), the body is streamed or larger than
//! `maxEntryBytes`.
//!
//! Unlike Easegress, the memory is bounded: entries count their body, headers and key
//! against `maxTotalBytes` (default 64 MiB); storing past it evicts the oldest entries
//! first, which with one expiration for all are also the first to expire. Responses are
//! stored before compression, so a client gets gzip only when it asks for it. Concurrent
//! misses of one key all go to the upstream (the last answer stored wins).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use eg_protocols::HttpRequest;
use eg_spec::SpecError;
use http::header::{ACCESS_CONTROL_ALLOW_ORIGIN, CACHE_CONTROL};
use http::{HeaderMap, Method, StatusCode};
use parking_lot::Mutex;

use super::forward::Answer;
use super::spec::MemoryCacheSpec;

/// Default `maxTotalBytes`: 64 MiB per pool.
pub const DEFAULT_MAX_TOTAL_BYTES: u64 = 64 << 20;
/// Bookkeeping counted per entry besides its bytes.
const ENTRY_OVERHEAD: u64 = 128;

/// A stored response.
#[derive(Debug)]
pub(crate) struct Entry {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
    expires: Instant,
    seq: u64,
    size: u64,
}

/// A compiled `memoryCache` and its entries.
#[derive(Debug)]
pub(crate) struct MemoryCache {
    expiration: Duration,
    max_entry: u64,
    max_total: u64,
    codes: Box<[u16]>,
    methods: Box<[Method]>,
    store: Mutex<Store>,
}

#[derive(Debug, Default)]
struct Store {
    map: HashMap<String, Arc<Entry>>,
    /// Keys in the order stored, with the sequence number of the entry stored then.
    order: VecDeque<(String, u64)>,
    total: u64,
    seq: u64,
}

impl Store {
    fn remove(&mut self, key: &str, seq: u64) {
        if self.map.get(key).is_some_and(|e| e.seq == seq) {
            if let Some(e) = self.map.remove(key) {
                self.total -= e.size;
            }
        }
    }
}

impl MemoryCache {
    /// Checks `spec`; errors name fields under `path` (the `memoryCache` field).
    pub fn compile(spec: &MemoryCacheSpec, path: &str) -> Result<MemoryCache, SpecError> {
        let field = |f: &str| format!("{path}.{f}");
        let expiration = spec
            .expiration
            .filter(|d| !d.is_zero())
            .ok_or_else(|| SpecError::new(field("expiration"), "expiration is required (> 0)"))?;
        if spec.max_entry_bytes < 1 || spec.max_entry_bytes > i64::from(u32::MAX) {
            return Err(SpecError::new(
                field("maxEntryBytes"),
                "maxEntryBytes is required, 1 to 4294967295",
            ));
        }
        let max_total = match spec.max_total_bytes {
            None => DEFAULT_MAX_TOTAL_BYTES.max(spec.max_entry_bytes as u64),
            Some(n) if n >= spec.max_entry_bytes => n as u64,
            Some(_) => {
                return Err(SpecError::new(
                    field("maxTotalBytes"),
                    "must be at least maxEntryBytes",
                ))
            }
        };
        if spec.codes.is_empty() {
            return Err(SpecError::new(
                field("codes"),
                "at least one status code is required",
            ));
        }
        let mut codes = Vec::with_capacity(spec.codes.len());
        for (i, &c) in spec.codes.iter().enumerate() {
            let at = format!("{path}.codes[{i}]");
            if !(100..=599).contains(&c) {
                return Err(SpecError::new(
                    at,
                    format!("{c} is not an HTTP status code"),
                ));
            }
            if codes.contains(&(c as u16)) {
                return Err(SpecError::new(at, format!("{c} is listed twice")));
            }
            codes.push(c as u16);
        }
        if spec.methods.is_empty() {
            return Err(SpecError::new(
                field("methods"),
                "at least one method is required",
            ));
        }
        let mut methods = Vec::with_capacity(spec.methods.len());
        for (i, m) in spec.methods.iter().enumerate() {
            let at = format!("{path}.methods[{i}]");
            let Some(method) = eg_protocols::standard_method(m) else {
                return Err(SpecError::new(at, format!("{m:?} is not an HTTP method")));
            };
            if methods.contains(&method) {
                return Err(SpecError::new(at, format!("{m} is listed twice")));
            }
            methods.push(method);
        }
        Ok(MemoryCache {
            expiration,
            max_entry: spec.max_entry_bytes as u64,
            max_total,
            codes: codes.into(),
            methods: methods.into(),
            store: Mutex::default(),
        })
    }

    /// The stored response for `req`, if it may be served from the cache.
    pub fn load(&self, req: &HttpRequest) -> Option<Arc<Entry>> {
        if !self.methods.contains(req.method()) || cache_control_has(req.headers(), &["no-cache"]) {
            return None;
        }
        let key = key(req);
        let now = Instant::now();
        let mut store = self.store.lock();
        let e = store.map.get(&key)?;
        if e.expires > now {
            return Some(e.clone());
        }
        let seq = e.seq;
        store.remove(&key, seq);
        None
    }

    /// Stores `answer` to `req` when the rules allow it.
    pub fn store(&self, req: &HttpRequest, answer: &Answer) {
        if !answer.body.is_buffered() {
            return; // streamed
        }
        let body = answer.body.bytes().cloned().unwrap_or_default();
        if body.len() as u64 > self.max_entry
            || !self.methods.contains(req.method())
            || !self.codes.contains(&answer.status.as_u16())
        {
            return;
        }
        if answer
            .headers
            .get(ACCESS_CONTROL_ALLOW_ORIGIN)
            .is_some_and(|o| !o.is_empty() && o != "*")
        {
            return;
        }
        if cache_control_has(req.headers(), &["no-store", "no-cache"])
            || cache_control_has(
                &answer.headers,
                &["no-store", "no-cache", "must-revalidate"],
            )
        {
            return;
        }
        let key = key(req);
        let headers_size: usize = answer
            .headers
            .iter()
            .map(|(k, v)| k.as_str().len() + v.len())
            .sum();
        let size = (body.len() + headers_size + 2 * key.len()) as u64 + ENTRY_OVERHEAD;
        if size > self.max_total {
            return;
        }
        let now = Instant::now();
        let mut store = self.store.lock();
        if let Some(old) = store.map.remove(&key) {
            store.total -= old.size;
        }
        // Oldest first: expired ones, then as many as the new entry needs.
        while let Some((k, seq)) = store.order.front().cloned() {
            let expired = store
                .map
                .get(&k)
                .is_none_or(|e| e.seq != seq || e.expires <= now);
            if !expired && store.total + size <= self.max_total {
                break;
            }
            store.order.pop_front();
            store.remove(&k, seq);
        }
        // Records of overwritten entries wait in `order` until they reach its front;
        // drop them when they outnumber the live ones.
        if store.order.len() > 2 * store.map.len() + 64 {
            let Store { map, order, .. } = &mut *store;
            order.retain(|(k, seq)| map.get(k).is_some_and(|e| e.seq == *seq));
        }
        store.seq += 1;
        let seq = store.seq;
        store.total += size;
        store.order.push_back((key.clone(), seq));
        store.map.insert(
            key,
            Arc::new(Entry {
                status: answer.status,
                headers: answer.headers.clone(),
                body,
                expires: now + self.expiration,
                seq,
                size,
            }),
        );
    }

    /// Entries and bytes held now.
    #[cfg(test)]
    pub fn usage(&self) -> (usize, u64) {
        let s = self.store.lock();
        (s.map.len(), s.total)
    }
}

/// Easegress's key: scheme, host, path, method.
fn key(req: &HttpRequest) -> String {
    let scheme = req.uri().scheme_str().unwrap_or_else(|| {
        match req.header("x-forwarded-proto").filter(|s| !s.is_empty()) {
            Some(p) => p,
            None if req.over_tls() => "https",
            None => "http",
        }
    });
    let (host, path, method) = (req.host_with_port(), req.path(), req.method().as_str());
    let mut k = String::with_capacity(scheme.len() + host.len() + path.len() + method.len());
    k.push_str(scheme);
    k.push_str(host);
    k.push_str(path);
    k.push_str(method);
    k
}

/// Whether a `Cache-Control` header contains one of `words` (as a substring, as Easegress
/// checks).
fn cache_control_has(h: &HeaderMap, words: &[&str]) -> bool {
    h.get_all(CACHE_CONTROL).iter().any(|v| {
        let v = v.as_bytes();
        words
            .iter()
            .any(|w| v.windows(w.len()).any(|x| x == w.as_bytes()))
    })
}
