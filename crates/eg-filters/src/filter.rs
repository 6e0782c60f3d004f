//! The `Filter` trait and what a filter is built from.

use std::any::Any;
use std::future::Future;
use std::pin::Pin;

use eg_protocols::Context;
use eg_supervisor::metrics::MetricsRegistry;
use eg_supervisor::{MemberInfo, Supervisor};
use serde_json::Value;

use crate::resilience::Policies;

/// The result that means "continue with the next filter".
pub const RESULT_OK: &str = "";

/// A boxed future of a filter that has to wait (for an upstream, a timer, ...).
pub type FilterFuture<'a> = Pin<Box<dyn Future<Output = &'static str> + Send + 'a>>;

/// What [`Filter::handle`] returns: a result at once, or a future of one.
///
/// Synchronous filters (validators, adaptors, mocks) return `Done` and cost no allocation;
/// filters that wait return `Pending` with a boxed future.
pub enum Handled<'a> {
    /// The filter finished with this result.
    Done(&'static str),
    /// The filter needs to wait; await the future for its result.
    Pending(FilterFuture<'a>),
}

impl Handled<'_> {
    /// Waits for the result.
    #[inline]
    pub async fn result(self) -> &'static str {
        match self {
            Handled::Done(r) => r,
            Handled::Pending(f) => f.await,
        }
    }
}

/// One step of a pipeline.
///
/// A filter instance is built once per pipeline generation from its spec and then shared by
/// every request (`&self`): per-request state lives in the [`Context`]. Results returned
/// must be `""` or one of the kind's registered results ([`crate::FilterKind::results`]).
pub trait Filter: Send + Sync + 'static {
    /// Handles the request of the active namespace of `ctx`.
    fn handle<'a>(&'a self, ctx: &'a mut Context) -> Handled<'a>;

    /// Called once after the pipeline generation holding this filter is built, with the
    /// filter of the same name and kind from the previous generation (if any), so that
    /// state (health, limiter windows, pools) carries over. Background tasks start here.
    fn init(&self, prev: Option<&dyn Filter>) {
        let _ = prev;
    }

    /// Status reported with the pipeline's status (`filters.<name>`); `null` for none.
    fn status(&self) -> Value {
        Value::Null
    }

    /// Stops background work; called when the generation is replaced or deleted.
    fn close(&self) {}

    /// For [`Filter::init`] implementations that downcast `prev` to their own type.
    fn as_any(&self) -> &dyn Any;
}

/// A filter's spec as it appears in a pipeline.
#[derive(Debug, Clone)]
pub struct FilterSpec {
    /// The filter name (unique in the pipeline).
    pub name: String,
    /// The kind name.
    pub kind: String,
    /// The whole filter document (`name`, `kind` and the kind's fields).
    pub doc: Value,
    /// The name of the pipeline it belongs to.
    pub pipeline: String,
    /// The field path of this filter in the pipeline spec, e.g. `filters[2]`, for errors.
    pub path: String,
}

/// What a filter kind may use while checking or building: the supervisor (member, metrics,
/// store) and the pipeline's `resilience` policies, already decoded and checked.
pub struct BuildContext<'a> {
    /// The store of this member (custom data lives there); filters read it and watch it
    /// from `init`. Only state a filter owns is written there (WasmHost's shared data,
    /// under `/wasm/data/<pipeline>/<filter>/`); writes block, see [`eg_store::Store`].
    pub store: &'a std::sync::Arc<dyn eg_store::Store>,
    /// Where filters register their Prometheus series.
    pub metrics: &'a MetricsRegistry,
    /// This member: its name, cluster name and role label the series.
    pub member: &'a MemberInfo,
    /// The pipeline's `resilience` policies (Retry / CircuitBreaker), by name.
    pub resilience: &'a Policies,
}

impl<'a> BuildContext<'a> {
    /// What filters get from `supervisor`: its metrics registry and member, nothing else.
    pub fn new(supervisor: &'a Supervisor, resilience: &'a Policies) -> BuildContext<'a> {
        BuildContext {
            store: supervisor.store(),
            metrics: supervisor.metrics(),
            member: supervisor.member(),
            resilience,
        }
    }
}

/// A built filter and the warnings its spec raised (unknown keys, ignored fields), which
/// the pipeline hands on to the admin API's answer.
pub struct Built {
    /// The filter.
    pub filter: Box<dyn Filter>,
    /// `<path>: ...` lines.
    pub warnings: Vec<String>,
}

impl Built {
    /// `filter` with the `warnings` found while decoding its spec.
    pub fn new(filter: impl Filter, warnings: Vec<String>) -> Built {
        Built {
            filter: Box::new(filter),
            warnings,
        }
    }
}
