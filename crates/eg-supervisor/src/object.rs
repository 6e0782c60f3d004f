//! Specs and running objects.

use std::any::Any;
use std::sync::Arc;

use eg_spec::Meta;
use serde_json::Value;

use crate::kind::ObjectKind;

/// A stored spec: its meta and the whole document (meta fields included).
#[derive(Debug, Clone, PartialEq)]
pub struct Spec {
    /// `name`, `kind`, `version`, `labels`, `createdAt`.
    pub meta: Meta,
    /// The document as stored (JSON), meta fields included.
    pub doc: Value,
}

impl Spec {
    /// Reads a spec from a document, checking its meta fields.
    pub fn from_doc(doc: Value) -> Result<Spec, eg_spec::SpecError> {
        let meta = Meta::from_value(&doc)?;
        Ok(Spec { meta, doc })
    }

    /// The object name.
    pub fn name(&self) -> &str {
        &self.meta.name
    }

    /// The kind name.
    pub fn kind(&self) -> &str {
        &self.meta.kind
    }
}

/// One running generation of an object.
///
/// Built by [`ObjectKind::create`]; when the spec changes, the next generation is built with
/// this one as `prev` and takes over whatever it reuses (listeners, pools, limiter windows).
/// The supervisor calls [`Object::close`] only on objects that are deleted or whose
/// successor was built without inheriting.
pub trait Object: Send + Sync + 'static {
    /// The status reported under `/status/objects` (counts, rates, health, ...).
    fn status(&self) -> Value {
        Value::Object(Default::default())
    }

    /// Releases everything the object holds (listeners, background tasks).
    fn close(&self) {}

    /// For downcasting to the concrete type by kinds that cooperate (an HTTPServer finding
    /// its Pipeline).
    fn as_any(&self) -> &dyn Any;

    /// For downcasting an `Arc` to the concrete type.
    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync>;
}

/// A running object together with the spec it was built from and its kind.
#[derive(Clone)]
pub struct Running {
    /// The spec of this generation.
    pub spec: Arc<Spec>,
    /// The running instance.
    pub object: Arc<dyn Object>,
    /// The kind that built it.
    pub kind: Arc<dyn ObjectKind>,
}
