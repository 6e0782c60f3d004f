//! The `GlobalFilter` kind: before/after pipelines wrapped around every pipeline of a server.
//!
//! An HTTPServer naming a GlobalFilter (`globalFilter: <name>`) hands each routed request
//! to [`GlobalFilter::handle`] together with the routed pipeline: `beforePipeline` runs
//! first; the routed pipeline runs unless `beforePipeline` ended (by `END` or an unhandled
//! non-empty result, e.g. a failing Validator) — or `fallthrough.beforePipeline` is set;
//! `afterPipeline` runs unless the routed pipeline ended — or `fallthrough.pipeline` is
//! set. All stages share the request context and one stats tag.

#[cfg(test)]
mod tests;

use std::any::Any;
use std::sync::Arc;

use eg_filters::FilterRegistry;
use eg_protocols::Context;
use eg_spec::SpecError;
use eg_supervisor::{Category, KindInfo, Object, ObjectKind, Spec, Supervisor};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::pipeline::compile::{check, compile, Compiled};
use crate::pipeline::{decode_spec, Fallthrough, Pipeline, PipelineSpec};

/// The kind name.
pub const KIND: &str = "GlobalFilter";

/// The `GlobalFilter` kind's description (category `BusinessController`; egctl
/// `globalfilter`, `globalfilters`).
pub const INFO: KindInfo = KindInfo {
    kind: KIND,
    category: Category::BusinessController,
    name: "globalfilter",
    aliases: &["globalfilters"],
    default_spec: || json!({"fallthrough": {"beforePipeline": false, "pipeline": false}}),
    schema: eg_spec::spec_schema::<GlobalFilterSpec>,
};

/// `GlobalFilter` fields.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GlobalFilterSpec {
    /// A pipeline spec (`filters`, `flow`, `resilience`, `data`) run before the routed
    /// pipeline. At least one of the two pipelines is required.
    #[serde(default)]
    pub before_pipeline: Option<Value>,
    /// A pipeline spec run after the routed pipeline.
    #[serde(default)]
    pub after_pipeline: Option<Value>,
    /// Which later stages still run after an earlier one ended. Default: none.
    #[serde(default)]
    pub fallthrough: FallthroughSpec,
}

/// `fallthrough` fields.
#[derive(Debug, Clone, Copy, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FallthroughSpec {
    /// Run the routed pipeline even when `beforePipeline` ended. Default false.
    #[serde(default)]
    pub before_pipeline: bool,
    /// Run `afterPipeline` even when the routed pipeline ended. Default false.
    #[serde(default)]
    pub pipeline: bool,
}

/// A running GlobalFilter generation.
pub struct GlobalFilter {
    before: Option<Pipeline>,
    after: Option<Pipeline>,
    fallthrough: Fallthrough,
}

impl GlobalFilter {
    /// Runs `beforePipeline`, `pipeline` and `afterPipeline` on `ctx` (see the module
    /// documentation) and returns the last filter's result.
    pub async fn handle(&self, ctx: &mut Context, pipeline: &Pipeline) -> &'static str {
        pipeline
            .handle_with(
                ctx,
                self.before.as_ref(),
                self.after.as_ref(),
                self.fallthrough,
            )
            .await
    }
}

impl Object for GlobalFilter {
    /// Starts each stage from the same stage of `prev` (its filters inherit state). A stage
    /// `prev` had and this generation dropped is closed with `prev`.
    fn start(&self, prev: Option<&dyn Object>) {
        let prev = prev.and_then(|p| p.as_any().downcast_ref::<GlobalFilter>());
        if let Some(b) = &self.before {
            b.start_from(prev.and_then(|p| p.before.as_ref()));
        }
        if let Some(a) = &self.after {
            a.start_from(prev.and_then(|p| p.after.as_ref()));
        }
    }

    fn status(&self) -> Value {
        let stage = |p: &Option<Pipeline>| {
            p.as_ref()
                .map(|p| json!({"filters": p.filter_statuses()}))
                .unwrap_or(Value::Null)
        };
        json!({
            "beforePipeline": stage(&self.before),
            "afterPipeline": stage(&self.after),
        })
    }

    fn close(&self) {
        for p in [&self.before, &self.after].into_iter().flatten() {
            Object::close(p);
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }
}

/// Builds `GlobalFilter` objects with the filter kinds of a registry.
pub struct GlobalFilterKind {
    filters: Arc<FilterRegistry>,
}

impl GlobalFilterKind {
    /// A kind that builds the stages' filters from `filters`.
    pub fn new(filters: Arc<FilterRegistry>) -> GlobalFilterKind {
        GlobalFilterKind { filters }
    }
}

/// Both stages, checked (`T = ()`) or compiled (`T = Compiled`), with the warnings found.
struct Stages<T> {
    before: Option<T>,
    after: Option<T>,
    fallthrough: Fallthrough,
    warnings: Vec<String>,
}

impl GlobalFilterKind {
    /// Decodes the spec and passes each stage to `make` (the pipeline's check or compile),
    /// which returns what it made and the stage's warnings.
    fn stages<T>(
        &self,
        spec: &Spec,
        mut make: impl FnMut(&str, &PipelineSpec, &str) -> Result<(T, Vec<String>), SpecError>,
    ) -> Result<Stages<T>, SpecError> {
        let (gf, mut warnings) =
            eg_spec::decode_kind::<GlobalFilterSpec>(&spec.doc, "")?.into_parts();
        if gf.before_pipeline.is_none() && gf.after_pipeline.is_none() {
            return Err(SpecError::doc(
                "both beforePipeline and afterPipeline are empty: set at least one",
            ));
        }
        let mut stage = |doc: &Option<Value>, field: &str| -> Result<_, SpecError> {
            let Some(doc) = doc else {
                return Ok(None);
            };
            let d = decode_spec(doc, field, true)?;
            let name = format!("{}-{field}", spec.name());
            let (made, w) = make(&name, &d.spec, field)?;
            warnings.extend(d.warnings);
            warnings.extend(w);
            Ok(Some(made))
        };
        let before = stage(&gf.before_pipeline, "beforePipeline")?;
        let after = stage(&gf.after_pipeline, "afterPipeline")?;
        Ok(Stages {
            before,
            after,
            fallthrough: Fallthrough {
                before_pipeline: gf.fallthrough.before_pipeline,
                pipeline: gf.fallthrough.pipeline,
            },
            warnings,
        })
    }
}

impl ObjectKind for GlobalFilterKind {
    fn info(&self) -> &'static KindInfo {
        &INFO
    }

    /// Checks both stages as the pipeline's check does: no filter is built.
    fn validate(&self, spec: &Spec, sup: &Supervisor) -> Result<Vec<String>, SpecError> {
        let stages = self.stages(spec, |name, p, field| {
            check(name, p, field, &self.filters, sup).map(|w| ((), w))
        })?;
        Ok(stages.warnings)
    }

    fn build(&self, spec: &Spec, sup: &Supervisor) -> Result<Arc<dyn Object>, SpecError> {
        let stages = self.stages(spec, |name, p, field| {
            let c = compile(name, p, field, &self.filters, sup)?;
            let w = c.warnings.clone();
            Ok((c, w))
        })?;
        let stage = |c: Option<Compiled>, field: &str| {
            c.map(|c| Pipeline::new(&format!("{}-{field}", spec.name()), c))
        };
        Ok(Arc::new(GlobalFilter {
            before: stage(stages.before, "beforePipeline"),
            after: stage(stages.after, "afterPipeline"),
            fallthrough: stages.fallthrough,
        }))
    }
}
