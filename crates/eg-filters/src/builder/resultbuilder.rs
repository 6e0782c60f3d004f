//! The `ResultBuilder` filter: a template decides the filter's result, for `jumpIf`.
//!
//! The template renders a YAML scalar: empty means `""` (continue), `result0` … `result9`
//! are returned as they are, anything else is `unknown`; a render error is `buildErr`.

use std::any::Any;

use eg_protocols::Context;
use eg_spec::SpecError;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::filter::{BuildContext, Built, Filter, FilterSpec, Handled};
use crate::registry::FilterKind;
use crate::spec::decode_filter_spec;
use crate::template::parse_yaml_json;
use crate::template::{BuilderTemplate, RESULT_BUILD_ERR};

/// The kind name.
pub const KIND_NAME: &str = "ResultBuilder";
/// Returned when the template renders something other than `result0` … `result9`.
pub const RESULT_UNKNOWN: &str = "unknown";
/// The results a template may pick, then `buildErr` and `unknown` (as Easegress registers).
pub const RESULTS: [&str; 12] = [
    "result0",
    "result1",
    "result2",
    "result3",
    "result4",
    "result5",
    "result6",
    "result7",
    "result8",
    "result9",
    RESULT_BUILD_ERR,
    RESULT_UNKNOWN,
];
/// How many of [`RESULTS`] a template may render.
const MAX_RESULTS: usize = 10;

/// The `ResultBuilder` filter kind.
pub const KIND: FilterKind = FilterKind::new(
    KIND_NAME,
    "ResultBuilder generates a string as the filter result",
    &RESULTS,
    default_spec,
    build,
)
.with_schema(crate::spec_schema::<ResultBuilderSpec>);

/// `ResultBuilder` fields.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResultBuilderSpec {
    /// The template. Default: empty (always `""`).
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
    let (s, warnings) = decode_filter_spec::<ResultBuilderSpec>(spec)?.into_parts();
    Ok(Built::new(
        ResultBuilder {
            name: spec.name.clone(),
            template: BuilderTemplate::compile(spec, &s.template, &s.left_delim, &s.right_delim)?,
        },
        warnings,
    ))
}

/// The running filter.
pub struct ResultBuilder {
    name: String,
    template: BuilderTemplate,
}

/// A YAML scalar as Go's decoder puts it into a `string`: its text.
fn scalar_text(v: &Value) -> Result<String, String> {
    match v {
        Value::Null => Ok(String::new()),
        Value::String(s) => Ok(s.clone()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(format!("cannot use {other} as a result")),
    }
}

impl ResultBuilder {
    fn decide(&self, ctx: &mut Context) -> &'static str {
        let result = self
            .template
            .render(ctx)
            .and_then(|text| parse_yaml_json(&text))
            .and_then(|v| scalar_text(&v));
        match result {
            Ok(r) if r.is_empty() => "",
            Ok(r) => RESULTS[..MAX_RESULTS]
                .iter()
                .copied()
                .find(|x| *x == r)
                .unwrap_or(RESULT_UNKNOWN),
            Err(e) => {
                tracing::warn!(
                    "ResultBuilder({}): failed to build the result: {e}",
                    self.name
                );
                RESULT_BUILD_ERR
            }
        }
    }
}

impl Filter for ResultBuilder {
    fn handle<'a>(&'a self, ctx: &'a mut Context) -> Handled<'a> {
        self.template
            .run_after_bodies(ctx, KIND_NAME, &self.name, |ctx| self.decide(ctx))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
