//! The `HeaderCounter` filter: the example filter of Easegress's developer guide.
//!
//! For every request it counts, per header listed in `headers`, whether the request carries
//! that header with a non-empty value. A request carrying none of them is refused for the
//! rest of the flow: the filter returns `invalidHeader` (which ends the flow unless a
//! `jumpIf` routes it). The counts are reported in the filter's status and carried over to
//! the next generation when the pipeline is updated (for the headers still listed).

#[cfg(test)]
mod tests;

use std::any::Any;
use std::sync::atomic::{AtomicU64, Ordering};

use eg_protocols::Context;
use eg_spec::SpecError;
use http::HeaderName;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::filter::{BuildContext, Built, Filter, FilterSpec, Handled};
use crate::registry::FilterKind;
use crate::spec::{decode_filter_spec, header_name};

/// The kind name.
pub const KIND_NAME: &str = "HeaderCounter";
/// Returned when the request carries none of the counted headers.
pub const RESULT_INVALID_HEADER: &str = "invalidHeader";

/// The `HeaderCounter` filter kind.
pub const KIND: FilterKind = FilterKind::new(
    KIND_NAME,
    "HeaderCounter counts the number of requests which contain the specified header.",
    &[RESULT_INVALID_HEADER],
    default_spec,
    build,
)
.with_schema(crate::spec_schema::<HeaderCounterSpec>);

/// `HeaderCounter` fields.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
pub struct HeaderCounterSpec {
    /// Header names to count. Default: none (then every request is `invalidHeader`).
    #[serde(default)]
    pub headers: Vec<String>,
}

fn default_spec() -> Value {
    json!({"headers": []})
}

fn build(spec: &FilterSpec, _: &BuildContext<'_>) -> Result<Built, SpecError> {
    let (s, warnings) = decode_filter_spec::<HeaderCounterSpec>(spec)?.into_parts();
    let mut counters = Vec::with_capacity(s.headers.len());
    for (i, h) in s.headers.iter().enumerate() {
        let name = header_name(h, &format!("{}.headers[{i}]", spec.path))?;
        if counters
            .iter()
            .any(|(n, _): &(HeaderName, AtomicU64)| *n == name)
        {
            return Err(SpecError::new(
                format!("{}.headers[{i}]", spec.path),
                format!("duplicated header {h:?}"),
            ));
        }
        counters.push((name, AtomicU64::new(0)));
    }
    Ok(Built::new(
        HeaderCounter {
            counters: counters.into_boxed_slice(),
        },
        warnings,
    ))
}

/// The running filter.
pub struct HeaderCounter {
    counters: Box<[(HeaderName, AtomicU64)]>,
}

impl HeaderCounter {
    /// The count of requests seen with header `name` (case-insensitive), if counted.
    pub fn count(&self, name: &str) -> Option<u64> {
        self.counters
            .iter()
            .find(|(n, _)| n.as_str().eq_ignore_ascii_case(name))
            .map(|(_, c)| c.load(Ordering::Relaxed))
    }
}

impl Filter for HeaderCounter {
    fn handle<'a>(&'a self, ctx: &'a mut Context) -> Handled<'a> {
        let mut counted = false;
        if let Some(req) = ctx.request() {
            for (name, count) in self.counters.iter() {
                if eg_protocols::lookup::first(req.headers(), name).is_some_and(|v| !v.is_empty()) {
                    count.fetch_add(1, Ordering::Relaxed);
                    counted = true;
                }
            }
        }
        Handled::Done(if counted { "" } else { RESULT_INVALID_HEADER })
    }

    fn init(&self, prev: Option<&dyn Filter>) {
        let Some(prev) = prev.and_then(|p| p.as_any().downcast_ref::<HeaderCounter>()) else {
            return;
        };
        for (name, count) in self.counters.iter() {
            if let Some(old) = prev.count(name.as_str()) {
                count.store(old, Ordering::Relaxed);
            }
        }
    }

    fn status(&self) -> Value {
        let counts: Map<String, Value> = self
            .counters
            .iter()
            .map(|(n, c)| (n.to_string(), json!(c.load(Ordering::Relaxed))))
            .collect();
        json!({ "counts": counts })
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
