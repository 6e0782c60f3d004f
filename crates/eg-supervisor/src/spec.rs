//! Stored specs.

use eg_spec::{Meta, SpecError};
use serde_json::Value;

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
    pub fn from_doc(doc: Value) -> Result<Spec, SpecError> {
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

/// Decodes a stored spec (JSON).
pub fn parse_stored(value: &[u8]) -> Result<Spec, SpecError> {
    let doc: Value = serde_json::from_slice(value)
        .map_err(|e| SpecError::doc(format!("stored spec is not JSON: {e}")))?;
    Spec::from_doc(doc)
}
