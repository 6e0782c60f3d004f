//! The kind registry.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::category::Category;
use crate::kind::ObjectKind;

/// All object kinds this build knows, by kind name.
#[derive(Default, Clone)]
pub struct KindRegistry {
    kinds: BTreeMap<&'static str, Arc<dyn ObjectKind>>,
}

impl KindRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `kind`, replacing an earlier kind of the same name.
    pub fn register(&mut self, kind: Arc<dyn ObjectKind>) -> &mut Self {
        self.kinds.insert(kind.info().kind, kind);
        self
    }

    /// The kind called `kind` (exact kind name).
    pub fn get(&self, kind: &str) -> Option<&Arc<dyn ObjectKind>> {
        self.kinds.get(kind)
    }

    /// The kind whose kind name, resource name or alias is `name` (case-insensitive).
    pub fn resolve(&self, name: &str) -> Option<&Arc<dyn ObjectKind>> {
        let lower = name.to_ascii_lowercase();
        self.kinds.values().find(|k| {
            let info = k.info();
            info.kind.eq_ignore_ascii_case(name)
                || info.name == lower
                || info.aliases.contains(&lower.as_str())
        })
    }

    /// All kinds, sorted by kind name.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<dyn ObjectKind>> {
        self.kinds.values()
    }

    /// The category of `kind`, if registered.
    pub fn category(&self, kind: &str) -> Option<Category> {
        self.get(kind).map(|k| k.info().category)
    }
}
