//! The `Pipeline` spec.

use std::collections::BTreeMap;

use eg_spec::SpecError;
use serde::Deserialize;
use serde_json::{Map, Value};

/// The built-in filter name that ends the flow.
pub const END: &str = "END";

/// `Pipeline` fields (also the `beforePipeline`/`afterPipeline` of a GlobalFilter).
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PipelineSpec {
    /// Filter specs (`name`, `kind` and the kind's fields). Required (may be empty).
    #[serde(default)]
    pub filters: Option<Vec<Value>>,
    /// The order filters run in. Default: the filters in definition order.
    #[serde(default)]
    pub flow: Vec<FlowNodeSpec>,
    /// Retry and CircuitBreaker policies filters refer to by name, decoded with
    /// [`eg_filters::resilience::Policies::decode`]. Default: none.
    #[serde(default)]
    pub resilience: Vec<Value>,
    /// Static data, exposed to filters as `ctx.data["PIPELINE"]`. Default: none.
    #[serde(default)]
    pub data: Option<Map<String, Value>>,
}

/// One step of the flow.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FlowNodeSpec {
    /// The filter's name, or `END` (required).
    #[serde(default)]
    pub filter: String,
    /// The name this step is known by in jumps and stats. Default: the filter name.
    #[serde(default)]
    pub alias: String,
    /// The request namespace the filter works on. Default: `DEFAULT`.
    #[serde(default)]
    pub namespace: String,
    /// Result → target (`END` or a later filter name/alias). `""` as a key jumps on
    /// success. A non-empty result not listed ends the flow.
    #[serde(default)]
    pub jump_if: BTreeMap<String, String>,
}

impl FlowNodeSpec {
    /// The name this step answers to: the alias, or the filter name.
    pub fn alias(&self) -> &str {
        if self.alias.is_empty() {
            &self.filter
        } else {
            &self.alias
        }
    }
}

/// A decoded spec and the unknown keys found in it (as warnings).
pub struct DecodedSpec {
    /// The spec.
    pub spec: PipelineSpec,
    /// `path: unknown field, ignored` lines.
    pub warnings: Vec<String>,
}

/// Decodes a pipeline spec found at `prefix` of a document. With `skip_meta`, the object
/// meta keys at its top level are not reported as unknown.
pub fn decode_spec(doc: &Value, prefix: &str, skip_meta: bool) -> Result<DecodedSpec, SpecError> {
    let decoded = if skip_meta {
        eg_spec::decode_kind::<PipelineSpec>(doc, prefix)?
    } else {
        eg_spec::decode::<PipelineSpec>(doc, prefix)?
    };
    let (spec, warnings) = decoded.into_parts();
    Ok(DecodedSpec { spec, warnings })
}
