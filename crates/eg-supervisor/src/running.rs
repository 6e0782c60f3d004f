//! A published generation.

use std::sync::Arc;

use crate::kind::ObjectKind;
use crate::object::Object;
use crate::spec::Spec;

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
