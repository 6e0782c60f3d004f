//! Filter kinds and their registry.

use std::collections::BTreeMap;

use eg_spec::SpecError;
use serde_json::Value;

use crate::filter::{BuildContext, Built, FilterSpec};

/// A registered filter kind: its name, the results it may return, its defaults, and how to
/// check and build it.
#[derive(Clone, Copy)]
pub struct FilterKind {
    /// Kind name as written in specs, e.g. `Proxy`.
    pub kind: &'static str,
    /// One-line description served by `/metadata/objects/pipeline/filters/{kind}/description`.
    pub description: &'static str,
    /// The non-empty results the filter can return (valid `jumpIf` keys).
    pub results: &'static [&'static str],
    /// The kind's fields' defaults (served by the metadata API).
    pub default_spec: fn() -> Value,
    /// A JSON schema of the spec, served by the metadata API.
    pub schema: fn() -> Value,
    /// Decodes and checks the spec and builds the filter, returning it with the spec's
    /// warnings. Must not start background work (that happens in [`crate::Filter::init`]);
    /// errors name the field path.
    pub build: BuildFn,
    /// Decodes and checks the spec without building anything live (no clients, pools or
    /// tasks), for the admin API's validation; returns the same errors and warnings as
    /// `build`. `None` (the default for kinds whose build holds nothing live): the check
    /// builds the filter and drops it.
    pub check: Option<CheckFn>,
}

/// How a kind builds a filter from its spec.
pub type BuildFn = fn(&FilterSpec, &BuildContext<'_>) -> Result<Built, SpecError>;

/// How a kind checks a spec without building the filter; returns the warnings.
pub type CheckFn = fn(&FilterSpec, &BuildContext<'_>) -> Result<Vec<String>, SpecError>;

impl FilterKind {
    /// A kind with the usual defaults: the schema says only "an object"
    /// ([`object_schema`]) and the check builds the filter and drops it (`check: None`).
    /// Kinds whose build holds live resources add a check with [`FilterKind::with_check`].
    pub const fn new(
        kind: &'static str,
        description: &'static str,
        results: &'static [&'static str],
        default_spec: fn() -> Value,
        build: BuildFn,
    ) -> FilterKind {
        FilterKind {
            kind,
            description,
            results,
            default_spec,
            schema: object_schema,
            build,
            check: None,
        }
    }

    /// This kind with `schema` as its JSON schema; [`spec_schema`] generates one from the
    /// spec type, so it cannot drift from what the decoder reads.
    pub const fn with_schema(self, schema: fn() -> Value) -> FilterKind {
        FilterKind { schema, ..self }
    }

    /// This kind with `check` as its check-only validation.
    pub const fn with_check(self, check: CheckFn) -> FilterKind {
        FilterKind {
            check: Some(check),
            ..self
        }
    }

    /// Checks `spec` as [`FilterKind::check`] says, returning its warnings.
    pub fn validate(
        &self,
        spec: &FilterSpec,
        ctx: &BuildContext<'_>,
    ) -> Result<Vec<String>, SpecError> {
        match self.check {
            Some(check) => check(spec, ctx),
            None => (self.build)(spec, ctx).map(|b| b.warnings),
        }
    }

    /// The registered result equal to `s`, as the static string the filter returns.
    pub fn result(&self, s: &str) -> Option<&'static str> {
        self.results.iter().copied().find(|r| *r == s)
    }
}

/// All filter kinds this build knows.
#[derive(Default, Clone)]
pub struct FilterRegistry {
    kinds: BTreeMap<&'static str, FilterKind>,
}

impl FilterRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a kind (replacing one of the same name).
    pub fn register(&mut self, kind: FilterKind) -> &mut Self {
        self.kinds.insert(kind.kind, kind);
        self
    }

    /// The kind called `kind`.
    pub fn get(&self, kind: &str) -> Option<&FilterKind> {
        self.kinds.get(kind)
    }

    /// All kinds, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = &FilterKind> {
        self.kinds.values()
    }
}

/// A JSON schema saying only "an object", for kinds that do not publish a detailed one.
pub fn object_schema() -> Value {
    serde_json::json!({"type": "object"})
}

/// The JSON schema (draft 2020-12, nested types inlined) of a filter spec of type `T`, plus
/// the meta fields every filter spec carries: `name` and `kind` (both required).
///
/// Generated from the type the kind decodes its spec into, with serde's renames and
/// defaults: the schema lists exactly the fields the decoder knows.
pub fn spec_schema<T: schemars::JsonSchema>() -> Value {
    let settings = schemars::generate::SchemaSettings::draft2020_12().with(|s| {
        s.inline_subschemas = true;
    });
    let mut schema = settings
        .into_generator()
        .into_root_schema_for::<T>()
        .to_value();
    if let Some(obj) = schema.as_object_mut() {
        let props = obj
            .entry("properties")
            .or_insert_with(|| Value::Object(Default::default()));
        if let Some(props) = props.as_object_mut() {
            props.insert("name".into(), serde_json::json!({"type": "string"}));
            props.insert("kind".into(), serde_json::json!({"type": "string"}));
        }
        let required = obj
            .entry("required")
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Some(req) = required.as_array_mut() {
            for k in ["kind", "name"] {
                req.insert(0, Value::String(k.into()));
            }
        }
    }
    schema
}
