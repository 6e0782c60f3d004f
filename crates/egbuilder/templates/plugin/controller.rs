//! The `@KIND@` controller: an object kind users create with `egctl`.
//!
//! It keeps its spec, logs when a generation starts and closes, and reports its `message`
//! and how many generations ran (carried over from the generation it replaces) as its
//! status. It follows the pattern of the `StatusInLocalController` of the easegress-rs
//! developer guide: a `KindInfo`, an `ObjectKind` that checks and builds generations and an
//! `Object` that starts and closes them. Start your own work in `start`, stop it in `close`.

use std::any::Any;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use eg_spec::SpecError;
use eg_supervisor::{Category, KindInfo, Object, ObjectKind, Spec, Supervisor};
use serde::Deserialize;
use serde_json::{json, Value};

/// The kind name, as written in specs.
pub const KIND: &str = "@KIND@";
/// The message kept when the spec gives none.
pub const DEFAULT_MESSAGE: &str = "hello from @KIND@";
/// The kind's description (egctl `@LOWER@`, `@LOWER@s`).
pub const INFO: KindInfo = KindInfo {
    kind: KIND,
    category: Category::BusinessController,
    name: "@LOWER@",
    aliases: &["@LOWER@s"],
    default_spec: || json!({"message": DEFAULT_MESSAGE}),
    schema: eg_spec::spec_schema::<@KIND@Spec>,
};

/// The spec of a `@KIND@`.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct @KIND@Spec {
    /// A message reported in the status. Default: `hello from @KIND@`.
    #[serde(default = "default_message")]
    pub message: String,
}

fn default_message() -> String {
    DEFAULT_MESSAGE.to_string()
}

/// Decodes a spec: errors name the field, unknown keys become warnings.
fn decode(spec: &Spec) -> Result<(@KIND@Spec, Vec<String>), SpecError> {
    let (s, warnings) = eg_spec::decode_kind::<@KIND@Spec>(&spec.doc, "")?.into_parts();
    if s.message.trim().is_empty() {
        return Err(SpecError::new("message", "message must not be empty"));
    }
    Ok((s, warnings))
}

/// The `@KIND@` kind: one line in `register` adds it to a server.
pub struct @KIND@Kind;

impl ObjectKind for @KIND@Kind {
    fn info(&self) -> &'static KindInfo {
        &INFO
    }

    fn validate(&self, spec: &Spec, _sup: &Supervisor) -> Result<Vec<String>, SpecError> {
        decode(spec).map(|(_, warnings)| warnings)
    }

    fn build(&self, spec: &Spec, _sup: &Supervisor) -> Result<Arc<dyn Object>, SpecError> {
        let (spec, _) = decode(spec)?;
        Ok(Arc::new(@KIND@ {
            spec,
            generations: AtomicU64::new(0),
        }))
    }
}

/// One generation of a `@KIND@`.
pub struct @KIND@ {
    spec: @KIND@Spec,
    /// Generations started so far, this one included (set in `start`).
    generations: AtomicU64,
}

impl @KIND@ {
    /// The spec this generation was built from.
    pub fn spec(&self) -> &@KIND@Spec {
        &self.spec
    }
}

impl Object for @KIND@ {
    /// Takes the generation count over from `prev` (the generation being replaced).
    fn start(&self, prev: Option<&dyn Object>) {
        let before = prev
            .and_then(|p| p.as_any().downcast_ref::<@KIND@>())
            .map_or(0, |p| p.generations.load(Ordering::SeqCst));
        self.generations.store(before + 1, Ordering::SeqCst);
        tracing::info!(kind = KIND, message = %self.spec.message, "controller started");
    }

    fn status(&self) -> Value {
        json!({
            "message": self.spec.message,
            "generations": self.generations.load(Ordering::SeqCst),
        })
    }

    fn close(&self) {
        tracing::info!(kind = KIND, "controller closed");
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }
}

#[cfg(test)]
mod tests {
    use eg_supervisor::{KindRegistry, MemberInfo};

    use super::*;

    fn supervisor() -> Supervisor {
        let mut kinds = KindRegistry::new();
        kinds.register(Arc::new(@KIND@Kind));
        Supervisor::new(
            kinds,
            Arc::new(eg_store::MemStore::new()),
            MemberInfo::standalone("test"),
        )
    }

    fn spec(doc: Value) -> Spec {
        Spec::from_doc(doc).expect("a spec")
    }

    #[test]
    fn bad_specs_name_the_field() {
        let sup = supervisor();
        let doc = json!({"name": "c", "kind": KIND, "message": ""});
        let err = @KIND@Kind.validate(&spec(doc), &sup).err();
        assert_eq!(err.map(|e| e.path), Some("message".to_string()));
        let doc = json!({"name": "c", "kind": KIND, "colour": "blue"});
        let warnings = @KIND@Kind.validate(&spec(doc), &sup).expect("valid");
        assert_eq!(warnings.len(), 1, "{warnings:?}");
    }

    #[test]
    fn reports_its_spec_and_carries_the_count_over() {
        let sup = supervisor();
        sup.apply_spec(spec(json!({"name": "c", "kind": KIND})));
        let status = |sup: &Supervisor| sup.get("c").map(|e| e.object.status());
        assert_eq!(
            status(&sup),
            Some(json!({"message": DEFAULT_MESSAGE, "generations": 1}))
        );
        sup.apply_spec(spec(json!({"name": "c", "kind": KIND, "message": "hi"})));
        assert_eq!(
            status(&sup),
            Some(json!({"message": "hi", "generations": 2}))
        );
        sup.remove("c");
        assert!(sup.get("c").is_none());
    }
}
