//! The trait every object kind implements.

use std::sync::Arc;

use eg_spec::SpecError;
use serde_json::Value;

use crate::category::Category;
use crate::object::{Object, Spec};
use crate::supervisor::Supervisor;

/// A registered type of object (`HTTPServer`, `Pipeline`, a controller, ...).
///
/// Adding a kind is one module implementing this trait and one line in the server's
/// registry. Implementations are cheap to share (`Arc<dyn ObjectKind>`).
pub trait ObjectKind: Send + Sync + 'static {
    /// The kind name as written in specs, e.g. `HTTPServer`.
    fn kind(&self) -> &'static str;

    /// The category, which decides creation order and API rules.
    fn category(&self) -> Category;

    /// The resource name egctl uses, e.g. `httpserver`. Defaults to the lower-cased kind.
    fn name(&self) -> String {
        self.kind().to_ascii_lowercase()
    }

    /// Other names egctl accepts, e.g. `["httpservers", "hs"]`.
    fn aliases(&self) -> Vec<String> {
        vec![format!("{}s", self.name())]
    }

    /// The kind fields' defaults (without meta), served by `/objects-yaml/{kind}/{name}`.
    fn default_spec(&self) -> Value {
        Value::Object(Default::default())
    }

    /// A JSON schema of the spec, when the kind has one.
    fn schema(&self) -> Value {
        serde_json::json!({"type": "object"})
    }

    /// Objects this object owns (e.g. the pipelines an HTTPServer generates from
    /// `backendPool`), as full specs labelled `easegress/owner: <this name>`. The API stores
    /// them with the object and deletes them with it; users cannot change them directly.
    fn owned_objects(&self, spec: &Spec) -> Vec<Value> {
        let _ = spec;
        Vec::new()
    }

    /// Checks a spec without building anything. Returns warnings (e.g. unknown keys); an
    /// error names the field path.
    fn validate(&self, spec: &Spec, sup: &Supervisor) -> Result<Vec<String>, SpecError>;

    /// Builds a running object. With `prev`, the new generation inherits from the previous
    /// one; on error `prev` must be left running untouched.
    fn create(
        &self,
        spec: &Spec,
        sup: &Supervisor,
        prev: Option<Arc<dyn Object>>,
    ) -> Result<Arc<dyn Object>, SpecError>;
}
