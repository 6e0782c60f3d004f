//! Filter kinds and their registry.

use std::collections::BTreeMap;

use eg_spec::SpecError;
use serde_json::{json, Value};

use crate::filter::{BuildContext, Built, FilterSpec};

pub use eg_spec::schema::spec_schema;

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

    /// One JSON schema accepting the spec of any registered filter: `kind` must name a
    /// registered kind, and the rest of the spec is checked against that kind's schema
    /// (an `if kind = X then schema(X)` per kind, which editors follow for completion).
    pub fn filter_spec_schema(&self) -> Value {
        let kinds: Vec<&str> = self.kinds.keys().copied().collect();
        let branches: Vec<Value> = self
            .iter()
            .map(|k| {
                let mut then = (k.schema)();
                if let Some(obj) = then.as_object_mut() {
                    obj.remove("$schema");
                }
                json!({"if": {"properties": {"kind": {"const": k.kind}}}, "then": then})
            })
            .collect();
        json!({
            "type": "object",
            "required": ["kind", "name"],
            "properties": {
                "kind": {"type": "string", "enum": kinds},
                "name": {"type": "string"},
            },
            "allOf": branches,
        })
    }

    /// `pipeline_schema` (the schema of a `Pipeline` spec) with its `filters` items checked
    /// by [`FilterRegistry::filter_spec_schema`].
    pub fn embed_in_pipeline_schema(&self, mut pipeline_schema: Value) -> Value {
        if let Some(props) = pipeline_schema
            .get_mut("properties")
            .and_then(Value::as_object_mut)
        {
            let description = props
                .get("filters")
                .and_then(|f| f.get("description"))
                .cloned()
                .unwrap_or(Value::Null);
            let mut filters = json!({"type": "array", "items": self.filter_spec_schema()});
            if !description.is_null() {
                filters["description"] = description;
            }
            props.insert("filters".into(), filters);
        }
        pipeline_schema
    }
}

/// A JSON schema saying only "an object", for kinds that do not publish a detailed one.
pub fn object_schema() -> Value {
    json!({"type": "object"})
}
