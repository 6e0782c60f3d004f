//! The `Pipeline` object kind.

use std::sync::Arc;

use eg_filters::FilterRegistry;
use eg_spec::SpecError;
use eg_supervisor::{Category, KindInfo, Object, ObjectKind, Spec, Supervisor};
use serde_json::json;

use super::compile::{check, compile};
use super::spec::decode_spec;
use super::Pipeline;

/// The kind name.
pub const KIND: &str = "Pipeline";

/// The `Pipeline` kind's description (category `Pipeline`; egctl `pipeline`, `pipelines`,
/// `pl`).
pub const INFO: KindInfo = KindInfo {
    kind: KIND,
    category: Category::Pipeline,
    name: "pipeline",
    aliases: &["pipelines", "pl"],
    default_spec: || json!({"filters": []}),
    schema: eg_spec::spec_schema::<super::spec::PipelineSpec>,
};

/// Builds `Pipeline` objects with the filter kinds of a registry.
pub struct PipelineKind {
    filters: Arc<FilterRegistry>,
}

impl PipelineKind {
    /// A kind that builds filters from `filters`.
    pub fn new(filters: Arc<FilterRegistry>) -> PipelineKind {
        PipelineKind { filters }
    }

    /// The filter kinds pipelines may use.
    pub fn filters(&self) -> &Arc<FilterRegistry> {
        &self.filters
    }
}

impl ObjectKind for PipelineKind {
    fn info(&self) -> &'static KindInfo {
        &INFO
    }

    fn validate(&self, spec: &Spec, sup: &Supervisor) -> Result<Vec<String>, SpecError> {
        let decoded = decode_spec(&spec.doc, "", true)?;
        let mut warnings = decoded.warnings;
        warnings.extend(check(spec.name(), &decoded.spec, "", &self.filters, sup)?);
        Ok(warnings)
    }

    fn build(&self, spec: &Spec, sup: &Supervisor) -> Result<Arc<dyn Object>, SpecError> {
        let decoded = decode_spec(&spec.doc, "", true)?;
        let compiled = compile(spec.name(), &decoded.spec, "", &self.filters, sup)?;
        Ok(Arc::new(Pipeline::new(spec.name(), compiled)))
    }
}
