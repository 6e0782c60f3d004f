//! The supervisor layer: kinds, objects and the loop that runs them.
//!
//! An *object kind* ([`ObjectKind`]) knows how to validate a spec and how to build a running
//! *object* ([`Object`]) from it. The [`Supervisor`] watches the store's
//! `/config/objects/` keys and reconciles: a new spec builds an object, a changed spec builds
//! the next generation from the previous one (which it inherits from), a removed spec closes
//! the object. A spec that fails to build never replaces the running generation.
#![forbid(unsafe_code)]

mod category;
mod kind;
pub mod metrics;
mod object;
mod registry;
mod supervisor;

pub use category::Category;
pub use kind::ObjectKind;
pub use object::{Object, Running, Spec};
pub use registry::KindRegistry;
pub use supervisor::{parse_stored, MemberInfo, Supervisor};
