//! The `DataBuilder` filter: render a template, parse the output as YAML and store it in the
//! context data under `dataKey` (read later as `.data.<dataKey>`).

use std::any::Any;

use eg_protocols::Context;
use eg_spec::error::join_path;
use eg_spec::SpecError;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::filter::{BuildContext, Built, Filter, FilterSpec, Handled};
use crate::registry::FilterKind;
use crate::spec::decode_filter_spec;
use crate::template::parse_yaml_json;
use crate::template::{BuilderTemplate, RESULT_BUILD_ERR};

/// The kind name.
pub const KIND_NAME: &str = "DataBuilder";

/// The `DataBuilder` filter kind.
pub const KIND: FilterKind = FilterKind::new(
    KIND_NAME,
    "DataBuilder builds and stores data",
    &[RESULT_BUILD_ERR],
    default_spec,
    build,
)
.with_schema(crate::spec_schema::<DataBuilderSpec>);

/// `DataBuilder` fields.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DataBuilderSpec {
    /// The data key written (required).
    #[serde(default)]
    pub data_key: String,
    /// The template (required).
    #[serde(default)]
    pub template: String,
    /// Left action delimiter. Default `{{`.
    #[serde(default)]
    pub left_delim: String,
    /// Right action delimiter. Default `}}`.
    #[serde(default)]
    pub right_delim: String,
}

fn default_spec() -> Value {
    json!({})
}

fn build(spec: &FilterSpec, _: &BuildContext<'_>) -> Result<Built, SpecError> {
    let (s, warnings) = decode_filter_spec::<DataBuilderSpec>(spec)?.into_parts();
    if s.data_key.is_empty() {
        return Err(SpecError::new(
            join_path(&spec.path, "dataKey"),
            "dataKey must be specified",
        ));
    }
    if s.template.is_empty() {
        return Err(SpecError::new(
            join_path(&spec.path, "template"),
            "template must be specified",
        ));
    }
    Ok(Built::new(
        DataBuilder {
            name: spec.name.clone(),
            key: s.data_key,
            template: BuilderTemplate::compile(spec, &s.template, &s.left_delim, &s.right_delim)?,
        },
        warnings,
    ))
}

/// The running filter.
pub struct DataBuilder {
    name: String,
    key: String,
    template: BuilderTemplate,
}

impl DataBuilder {
    fn store(&self, ctx: &mut Context) -> &'static str {
        match self
            .template
            .render(ctx)
            .and_then(|text| parse_yaml_json(&text))
        {
            Ok(v) => {
                ctx.data_mut().insert(self.key.clone(), v);
                ""
            }
            Err(e) => {
                tracing::warn!("DataBuilder({}): failed to build data: {e}", self.name);
                RESULT_BUILD_ERR
            }
        }
    }
}

impl Filter for DataBuilder {
    fn handle<'a>(&'a self, ctx: &'a mut Context) -> Handled<'a> {
        self.template
            .run_after_bodies(ctx, KIND_NAME, &self.name, |ctx| self.store(ctx))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
