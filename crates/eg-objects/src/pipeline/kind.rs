//! The `Pipeline` object kind.

use std::sync::Arc;

use eg_filters::FilterRegistry;
use eg_spec::SpecError;
use eg_supervisor::{Category, Object, ObjectKind, Spec, Supervisor};
use serde_json::{json, Value};

use super::compile::{check, compile};
use super::spec::decode_spec;
use super::Pipeline;

/// The kind name.
pub const KIND: &str = "Pipeline";

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
    fn kind(&self) -> &'static str {
        KIND
    }

    fn category(&self) -> Category {
        Category::Pipeline
    }

    fn name(&self) -> String {
        "pipeline".to_string()
    }

    fn aliases(&self) -> Vec<String> {
        vec!["pipelines".to_string(), "pl".to_string()]
    }

    fn default_spec(&self) -> Value {
        json!({"filters": []})
    }

    fn validate(&self, spec: &Spec, sup: &Supervisor) -> Result<Vec<String>, SpecError> {
        let decoded = decode_spec(&spec.doc, "", true)?;
        let mut warnings = decoded.warnings;
        warnings.extend(check(spec.name(), &decoded.spec, "", &self.filters, sup)?);
        Ok(warnings)
    }

    fn create(
        &self,
        spec: &Spec,
        sup: &Supervisor,
        prev: Option<Arc<dyn Object>>,
    ) -> Result<Arc<dyn Object>, SpecError> {
        let decoded = decode_spec(&spec.doc, "", true)?;
        let compiled = compile(spec.name(), &decoded.spec, "", &self.filters, sup)?;
        let prev = prev.and_then(|p| p.into_any().downcast::<Pipeline>().ok());
        Ok(Arc::new(Pipeline::start(
            spec.name(),
            compiled,
            prev.as_deref(),
        )))
    }
}
