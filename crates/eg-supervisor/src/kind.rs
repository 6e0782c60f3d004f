//! Object kinds: a static description plus the behaviour that builds generations.

use std::sync::Arc;

use eg_spec::SpecError;
use serde_json::Value;

use crate::category::Category;
use crate::object::Object;
use crate::spec::Spec;
use crate::supervisor::Supervisor;

/// What the API and egctl know of a kind without building anything: its names, category,
/// defaults and schema. Kinds keep it in a `const` and return it from
/// [`ObjectKind::info`].
#[derive(Debug, Clone, Copy)]
pub struct KindInfo {
    /// The kind name as written in specs, e.g. `HTTPServer`.
    pub kind: &'static str,
    /// The category, which decides creation order and API rules.
    pub category: Category,
    /// The resource name egctl uses, e.g. `httpserver`.
    pub name: &'static str,
    /// Other names egctl accepts, e.g. `["httpservers", "hs"]`.
    pub aliases: &'static [&'static str],
    /// The kind fields' defaults (without meta), served by `/objects-yaml/{kind}/{name}`.
    pub default_spec: fn() -> Value,
    /// A JSON schema of the spec.
    pub schema: fn() -> Value,
}

/// Defaults of a kind that has none: `{}`.
pub fn no_defaults() -> Value {
    Value::Object(Default::default())
}

/// A JSON schema saying only "an object", for kinds that do not publish a detailed one.
pub fn object_schema() -> Value {
    serde_json::json!({"type": "object"})
}

/// A registered type of object (`HTTPServer`, `Pipeline`, a controller, ...): it validates
/// specs and builds generations from them (see [`Object`] for the steps every generation goes
/// through).
///
/// Adding a kind is one module implementing this trait and [`Object`], plus one line in the
/// server's registry. Implementations are cheap to share (`Arc<dyn ObjectKind>`).
pub trait ObjectKind: Send + Sync + 'static {
    /// The kind's description.
    fn info(&self) -> &'static KindInfo;

    /// Objects this object owns (e.g. the pipelines an HTTPServer generates from
    /// `backendPool`), as full specs labelled `easegress/owner: <kind>:<name>`
    /// (`eg_spec::owner_of`). The API stores them with the object and deletes them with it;
    /// users cannot change them directly.
    fn owned_objects(&self, spec: &Spec) -> Vec<Value> {
        let _ = spec;
        Vec::new()
    }

    /// Checks a spec without building anything. Returns warnings (e.g. unknown keys); an
    /// error names the field path.
    fn validate(&self, spec: &Spec, sup: &Supervisor) -> Result<Vec<String>, SpecError>;

    /// Builds a generation from `spec` without starting it: no socket bound, no task
    /// spawned, nothing of the running generation touched. Everything that can reject the
    /// spec is checked here; the supervisor then calls [`Object::start`] with the generation
    /// being replaced.
    ///
    /// Resolving metric series is fine here: the registry hands out the same series for the
    /// same labels, so a build that is discarded or repeated registers nothing twice.
    fn build(&self, spec: &Spec, sup: &Supervisor) -> Result<Arc<dyn Object>, SpecError>;
}
