//! The `Pipeline` kind: a flow of filters with `jumpIf`.
//!
//! A spec is compiled once per generation ([`compile`]): filters built through the
//! [`eg_filters::FilterRegistry`], flow nodes resolved to indexes, jumps to forward-only
//! node indexes. Starting the generation initialises each filter with its namesake of the
//! same kind in the replaced generation; the supervisor then closes the replaced one. A request runs the flow as an index loop ([`run`]) and leaves a lazily
//! formatted stats tag in the access log.

pub(crate) mod compile;
mod kind;
mod run;
mod spec;
#[cfg(test)]
mod tests;

use std::any::Any;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use eg_protocols::Context;
use eg_supervisor::Object;
use serde_json::{json, Map, Value};

use compile::{Compiled, Flow};
use run::{run_flow, Stage, Stats, StatsTag};

pub use kind::{PipelineKind, INFO, KIND};
pub use spec::{decode_spec, DecodedSpec, FlowNodeSpec, PipelineSpec, END};

/// The key of the pipeline's `data` in `ctx.data`.
pub const DATA_KEY: &str = "PIPELINE";

/// Whether the later stages of a GlobalFilter run after an earlier one ended by `END`
/// (or by an unhandled non-empty result).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Fallthrough {
    /// Run the routed pipeline even when `beforePipeline` ended.
    pub before_pipeline: bool,
    /// Run `afterPipeline` even when the routed pipeline ended.
    pub pipeline: bool,
}

/// A running pipeline generation.
pub struct Pipeline {
    name: Arc<str>,
    flow: Arc<Flow>,
    data: Option<Value>,
    requests: AtomicU64,
    closed: AtomicBool,
}

impl Pipeline {
    /// A generation of a compiled pipeline, not started: its filters are built but not
    /// initialised.
    pub(crate) fn new(name: &str, compiled: Compiled) -> Pipeline {
        Pipeline {
            name: Arc::from(name),
            flow: Arc::new(compiled.flow),
            data: compiled.data,
            requests: AtomicU64::new(0),
            closed: AtomicBool::new(false),
        }
    }

    /// Starts this generation: every filter is initialised with the filter of the same name
    /// and kind of `prev` (so it inherits its state: health, limiter windows, pools).
    /// `prev`'s filters keep running until `prev` is closed.
    pub(crate) fn start_from(&self, prev: Option<&Pipeline>) {
        for slot in self.flow.filters.iter() {
            let old = prev
                .and_then(|p| p.flow.filter(&slot.name))
                .filter(|old| old.kind == slot.kind)
                .map(|old| &*old.filter);
            slot.filter.init(old);
        }
    }

    /// The pipeline's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs the flow on `ctx` and returns the last filter's result.
    ///
    /// The response sent to the client is whatever response the `DEFAULT` namespace holds
    /// afterwards; when there is none, the server answers 503.
    pub async fn handle(&self, ctx: &mut Context) -> &'static str {
        self.handle_with(ctx, None, None, Fallthrough::default())
            .await
    }

    /// Runs `before`'s flow, then this pipeline's, then `after`'s, sharing one context and
    /// one stats tag (named after this pipeline). A stage that ended (by `END` or an
    /// unhandled non-empty result) skips the next stages unless `fallthrough` says so.
    /// Returns the last filter's result.
    pub async fn handle_with(
        &self,
        ctx: &mut Context,
        before: Option<&Pipeline>,
        after: Option<&Pipeline>,
        fallthrough: Fallthrough,
    ) -> &'static str {
        self.requests.fetch_add(1, Ordering::Relaxed);
        if let Some(data) = &self.data {
            ctx.data_mut().insert(DATA_KEY.to_string(), data.clone());
        }
        let mut stats = Stats::new();
        let (mut result, mut saw_end) = ("", false);
        if let Some(b) = before {
            (result, saw_end) = run_flow(&b.flow, Stage::Before, ctx, &mut stats).await;
        }
        if !saw_end || fallthrough.before_pipeline {
            (result, saw_end) = run_flow(&self.flow, Stage::Main, ctx, &mut stats).await;
        }
        if let Some(a) = after {
            if !saw_end || fallthrough.pipeline {
                (result, _) = run_flow(&a.flow, Stage::After, ctx, &mut stats).await;
            }
        }
        if !ctx.record_tags {
            return result;
        }
        ctx.add_lazy_tag(StatsTag {
            pipeline: self.name.clone(),
            flows: [
                before.map(|b| b.flow.clone()),
                Some(self.flow.clone()),
                after.map(|a| a.flow.clone()),
            ],
            stats,
        });
        result
    }

    /// Requests handled by this generation.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// The status of every filter, by name (`null` for filters that report none).
    pub fn filter_statuses(&self) -> Map<String, Value> {
        self.flow
            .filters
            .iter()
            .map(|f| (f.name.to_string(), f.filter.status()))
            .collect()
    }

    /// Closes the filters (once, however often it is called).
    fn close_filters(&self) {
        if self.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        for f in self.flow.filters.iter() {
            f.filter.close();
        }
    }
}

impl Object for Pipeline {
    fn start(&self, prev: Option<&dyn Object>) {
        self.start_from(prev.and_then(|p| p.as_any().downcast_ref::<Pipeline>()));
    }

    /// `{"health": "ready", "filters": {<name>: <status>}, "requests": <count>}`.
    fn status(&self) -> Value {
        json!({
            "health": "ready",
            "filters": self.filter_statuses(),
            "requests": self.requests(),
        })
    }

    /// Closes every filter: a replaced generation's successor initialised its own filters
    /// from them in `start`, so nothing of theirs is still needed.
    fn close(&self) {
        self.close_filters();
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }
}
