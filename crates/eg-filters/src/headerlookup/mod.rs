//! The `HeaderLookup` filter: request headers from custom data.
//!
//! The value of request header `headerKey` names a custom data item of the kind given by
//! `etcdPrefix` (with `pathRegExp`, the first group of its match against the request path
//! is appended: `<value>-<group>`). For each `headerSetters` entry, the item's field
//! `etcdKey` becomes request header `headerKey` (replacing it). A request without the
//! header, or naming no item, passes unchanged; the result is always `""`.
//!
//! Items found are kept in an LRU cache of 128 entries; a watch of the store drops an entry
//! when its item changes or is deleted, on this member or (in a cluster) any other.

mod cache;
#[cfg(test)]
mod tests;

use std::any::Any;
use std::sync::Arc;

use eg_protocols::Context;
use eg_spec::error::join_path;
use eg_spec::SpecError;
use eg_store::{keys, Store, WatchEvent};
use http::{HeaderName, HeaderValue};
use parking_lot::Mutex;
use regex::Regex;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::filter::{BuildContext, Built, Filter, FilterSpec, Handled};
use crate::registry::FilterKind;
use crate::spec::{decode_filter_spec, header_name};

use cache::{Cache, Headers};

/// The kind name.
pub const KIND_NAME: &str = "HeaderLookup";
/// How many items the cache holds, as in Easegress.
pub const CACHE_SIZE: usize = 128;

/// The `HeaderLookup` filter kind.
pub const KIND: FilterKind = FilterKind::new(
    KIND_NAME,
    "HeaderLookup enriches request headers per request, looking up values from etcd.",
    &[],
    default_spec,
    build,
)
.with_schema(crate::spec_schema::<HeaderLookupSpec>);

/// `HeaderLookup` fields.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HeaderLookupSpec {
    /// The request header whose value is the item's id. Required.
    #[serde(default)]
    pub header_key: String,
    /// The custom data kind holding the items (`credentials/`, or `/credentials`).
    /// Required.
    #[serde(default)]
    pub etcd_prefix: String,
    /// A regular expression matched against the request path; its first group is appended
    /// to the id as `-<group>`. Default: none.
    #[serde(default, rename = "pathRegExp")]
    pub path_reg_exp: String,
    /// Which item field goes to which request header. Required (at least one).
    #[serde(default)]
    pub header_setters: Vec<HeaderSetter>,
}

/// One `headerSetters` entry.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HeaderSetter {
    /// The item's field. Required.
    #[serde(default)]
    pub etcd_key: String,
    /// The request header set to the field's value. Required.
    #[serde(default)]
    pub header_key: String,
}

fn default_spec() -> Value {
    json!({})
}

/// The running filter.
pub struct HeaderLookup {
    store: Arc<dyn Store>,
    /// `/custom-data/<kind>/`.
    prefix: String,
    header: HeaderName,
    path_re: Option<Regex>,
    setters: Box<[(String, HeaderName)]>,
    cache: Arc<Cache>,
    watcher: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

fn build(spec: &FilterSpec, ctx: &BuildContext<'_>) -> Result<Built, SpecError> {
    let (s, warnings) = decode_filter_spec::<HeaderLookupSpec>(spec)?.into_parts();
    Ok(Built::new(
        HeaderLookup::compile(&s, &spec.path, ctx.store.clone())?,
        warnings,
    ))
}

fn required(path: &str, field: &str, value: &str) -> Result<(), SpecError> {
    if value.is_empty() {
        return Err(SpecError::new(join_path(path, field), "required"));
    }
    Ok(())
}

impl HeaderLookup {
    /// Checks and compiles `s` over `store`; errors name fields under `path`.
    pub fn compile(
        s: &HeaderLookupSpec,
        path: &str,
        store: Arc<dyn Store>,
    ) -> Result<HeaderLookup, SpecError> {
        required(path, "headerKey", &s.header_key)?;
        let header = header_name(&s.header_key, &join_path(path, "headerKey"))?;
        let kind = s.etcd_prefix.trim_matches('/');
        if kind.is_empty() {
            return Err(SpecError::new(
                join_path(path, "etcdPrefix"),
                "required: the custom data kind",
            ));
        }
        let path_re = if s.path_reg_exp.is_empty() {
            None
        } else {
            Some(Regex::new(&s.path_reg_exp).map_err(|e| {
                SpecError::new(
                    join_path(path, "pathRegExp"),
                    format!("invalid regexp: {e}"),
                )
            })?)
        };
        if s.header_setters.is_empty() {
            return Err(SpecError::new(
                join_path(path, "headerSetters"),
                "at least one headerSetter is required",
            ));
        }
        let mut setters = Vec::with_capacity(s.header_setters.len());
        for (i, hs) in s.header_setters.iter().enumerate() {
            let at = format!("{}[{i}]", join_path(path, "headerSetters"));
            required(&at, "etcdKey", &hs.etcd_key)?;
            required(&at, "headerKey", &hs.header_key)?;
            let name = header_name(&hs.header_key, &join_path(&at, "headerKey"))?;
            setters.push((hs.etcd_key.clone(), name));
        }
        Ok(HeaderLookup {
            store,
            prefix: keys::custom_data_items(kind),
            header,
            path_re,
            setters: setters.into_boxed_slice(),
            cache: Arc::new(Cache::new(CACHE_SIZE)),
            watcher: Mutex::new(None),
        })
    }

    /// The headers item `id` gives, from the cache or the store; `None` when there is no
    /// such item or it cannot be read.
    fn lookup(&self, id: &str) -> Option<Headers> {
        if let Some(h) = self.cache.get(id) {
            return Some(h);
        }
        let epoch = self.cache.epoch();
        let key = format!("{}{id}", self.prefix);
        let raw = match self.store.get(&key) {
            Ok(Some(raw)) => raw,
            Ok(None) => {
                tracing::debug!(%key, "HeaderLookup: no custom data item");
                return None;
            }
            Err(e) => {
                tracing::warn!(%key, error = %e, "HeaderLookup: reading custom data failed");
                return None;
            }
        };
        let Ok(Value::Object(item)) = serde_json::from_slice::<Value>(&raw) else {
            tracing::warn!(%key, "HeaderLookup: custom data item is not an object");
            return None;
        };
        let mut headers = Vec::with_capacity(self.setters.len());
        for (field, name) in self.setters.iter() {
            let text = match item.get(field) {
                Some(Value::String(s)) => s.clone(),
                Some(v @ (Value::Number(_) | Value::Bool(_))) => v.to_string(),
                _ => continue,
            };
            if let Ok(value) = HeaderValue::from_str(&text) {
                headers.push((name.clone(), value));
            }
        }
        let headers: Headers = headers.into();
        self.cache.put(id, headers.clone(), epoch);
        Some(headers)
    }

    /// How many items the cache holds.
    pub fn cached(&self) -> usize {
        self.cache.len()
    }
}

impl Filter for HeaderLookup {
    fn handle<'a>(&'a self, ctx: &'a mut Context) -> Handled<'a> {
        let Some(req) = ctx.request_mut() else {
            return Handled::Done("");
        };
        let Some(value) = req
            .headers()
            .get(&self.header)
            .filter(|v| !v.is_empty())
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        else {
            return Handled::Done("");
        };
        let id = match &self.path_re {
            Some(re) => {
                let path = eg_protocols::escape::decode_path(req.path());
                match re.captures(&path) {
                    Some(c) if c.len() > 1 => {
                        format!("{value}-{}", c.get(1).map_or("", |m| m.as_str()))
                    }
                    _ => value,
                }
            }
            None => value,
        };
        if let Some(headers) = self.lookup(&id) {
            for (name, value) in headers.iter() {
                req.headers_mut().insert(name.clone(), value.clone());
            }
        }
        Handled::Done("")
    }

    fn init(&self, _prev: Option<&dyn Filter>) {
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            // Without a watch the cache could go stale: do not keep anything.
            self.cache.disable();
            return;
        };
        let mut events = self.store.watch(&self.prefix);
        let cache = self.cache.clone();
        let prefix = self.prefix.clone();
        let task = rt.spawn(async move {
            while let Some(ev) = events.recv().await {
                let key = match &ev {
                    WatchEvent::Put { key, .. } | WatchEvent::Delete { key, .. } => key,
                };
                cache.invalidate(key.strip_prefix(&prefix).unwrap_or(key));
            }
        });
        if let Some(old) = self.watcher.lock().replace(task) {
            old.abort();
        }
    }

    fn close(&self) {
        if let Some(task) = self.watcher.lock().take() {
            task.abort();
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl Drop for HeaderLookup {
    fn drop(&mut self) {
        if let Some(task) = self.watcher.get_mut().take() {
            task.abort();
        }
    }
}
