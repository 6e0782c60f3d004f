//! Helpers for the pipeline and GlobalFilter tests: a filter registry with the built-in
//! small filters plus a tracing test filter, a supervisor over a memory store, contexts.

use std::any::Any;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use eg_filters::{BuildContext, Built, Filter, FilterKind, FilterRegistry, FilterSpec, Handled};
use eg_protocols::{Context, HttpRequest};
use eg_spec::SpecError;
use eg_supervisor::{KindRegistry, MemberInfo, Object, Spec, Supervisor};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::globalfilter::{GlobalFilter, GlobalFilterKind};
use crate::pipeline::{Pipeline, PipelineKind};

/// A test filter: appends `<alias-less name>@<namespace>` to `ctx.data["trace"]` and
/// returns its configured `result`.
pub const STEP: FilterKind = FilterKind {
    kind: "Step",
    description: "test step",
    results: &["r1", "r2"],
    default_spec: || json!({}),
    schema: eg_filters::object_schema,
    build: build_step,
    check: None,
};

#[derive(Deserialize)]
struct StepSpec {
    name: String,
    #[serde(default)]
    result: String,
    #[serde(default)]
    pending: bool,
}

/// The running test filter.
pub struct Step {
    name: String,
    result: &'static str,
    pending: bool,
    count: AtomicU64,
    inherited: AtomicU64,
    closed: AtomicBool,
}

fn build_step(spec: &FilterSpec, _: &BuildContext<'_>) -> Result<Built, SpecError> {
    let (s, warnings) = eg_filters::spec::decode_filter_spec::<StepSpec>(spec)?.into_parts();
    let result = match s.result.as_str() {
        "" => "",
        r => STEP
            .result(r)
            .ok_or_else(|| SpecError::new(format!("{}.result", spec.path), "bad result"))?,
    };
    Ok(Built::new(
        Step {
            name: s.name,
            result,
            pending: s.pending,
            count: AtomicU64::new(0),
            inherited: AtomicU64::new(0),
            closed: AtomicBool::new(false),
        },
        warnings,
    ))
}

impl Filter for Step {
    fn handle<'a>(&'a self, ctx: &'a mut Context) -> Handled<'a> {
        self.count.fetch_add(1, Ordering::Relaxed);
        let entry = format!("{}@{}", self.name, ctx.namespace());
        let trace = ctx
            .data_mut()
            .entry("trace")
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(list) = trace {
            list.push(Value::String(entry));
        }
        if self.pending {
            let r = self.result;
            Handled::Pending(Box::pin(async move {
                tokio::task::yield_now().await;
                r
            }))
        } else {
            Handled::Done(self.result)
        }
    }

    fn init(&self, prev: Option<&dyn Filter>) {
        if let Some(p) = prev.and_then(|p| p.as_any().downcast_ref::<Step>()) {
            self.inherited
                .store(p.count.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
        }
    }

    fn status(&self) -> Value {
        json!({
            "count": self.count.load(Ordering::Relaxed),
            "inherited": self.inherited.load(Ordering::Relaxed),
            "closed": self.closed.load(Ordering::Relaxed),
        })
    }

    fn close(&self) {
        self.closed.store(true, Ordering::Relaxed);
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The filter kinds of the tests: the small built-ins plus [`STEP`].
pub fn filters() -> Arc<FilterRegistry> {
    let mut r = FilterRegistry::new();
    r.register(STEP)
        .register(eg_filters::mock::KIND)
        .register(eg_filters::fallback::KIND)
        .register(eg_filters::validator::KIND)
        .register(eg_filters::headercounter::KIND)
        .register(eg_filters::proxy::KIND);
    Arc::new(r)
}

/// A supervisor knowing Pipeline and GlobalFilter, over a memory store.
pub fn supervisor() -> Supervisor {
    let f = filters();
    let mut kinds = KindRegistry::new();
    kinds
        .register(Arc::new(PipelineKind::new(f.clone())))
        .register(Arc::new(GlobalFilterKind::new(f)));
    Supervisor::new(
        kinds,
        Arc::new(eg_store::MemStore::new()),
        MemberInfo::standalone("test"),
    )
}

/// The spec of `doc`.
pub fn spec(doc: Value) -> Spec {
    Spec::from_doc(doc).unwrap()
}

/// Validates `doc` with its kind.
pub fn validate(sup: &Supervisor, doc: Value) -> Result<Vec<String>, SpecError> {
    let s = spec(doc);
    let kind = sup.kinds().get(s.kind()).unwrap().clone();
    kind.validate(&s, sup)
}

/// Applies `doc` and returns the running object downcast to `T`.
pub fn apply<T: Object>(sup: &Supervisor, doc: Value) -> Arc<T> {
    let s = spec(doc);
    let name = s.name().to_string();
    sup.apply_spec(s);
    running(sup, &name)
}

/// The running object `name` as `T`.
pub fn running<T: Object>(sup: &Supervisor, name: &str) -> Arc<T> {
    sup.get(name)
        .unwrap_or_else(|| panic!("{name} is not running"))
        .object
        .into_any()
        .downcast::<T>()
        .unwrap_or_else(|_| panic!("{name} has another type"))
}

/// A pipeline object.
pub fn pipeline(sup: &Supervisor, doc: Value) -> Arc<Pipeline> {
    apply::<Pipeline>(sup, doc)
}

/// A GlobalFilter object.
pub fn global_filter(sup: &Supervisor, doc: Value) -> Arc<GlobalFilter> {
    apply::<GlobalFilter>(sup, doc)
}

/// A context for `GET path` with `headers`.
pub fn ctx(path: &str, headers: &[(&str, &str)]) -> Context {
    let mut req = HttpRequest::simple(http::Method::GET, path).unwrap();
    for (k, v) in headers {
        req.headers_mut().append(
            http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    Context::new(
        req,
        "127.0.0.1:40000".parse().unwrap(),
        "127.0.0.1".parse().unwrap(),
    )
}

/// `ctx.data["trace"]` as strings.
pub fn trace(ctx: &Context) -> Vec<String> {
    ctx.data
        .as_ref()
        .and_then(|d| d.get("trace"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The stats tag text (the last tag starting with `pipeline(`).
pub fn stats_tag(ctx: &Context) -> String {
    ctx.tags
        .iter()
        .map(|t| t.to_string())
        .rfind(|t| t.starts_with("pipeline("))
        .unwrap_or_default()
}

/// A step filter spec.
pub fn step(name: &str, result: &str) -> Value {
    json!({"name": name, "kind": "Step", "result": result})
}
