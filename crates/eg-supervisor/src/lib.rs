//! The supervisor layer: kinds, objects and the loop that runs them.
//!
//! An *object kind* ([`ObjectKind`]) is described by a static [`KindInfo`] and knows how to
//! validate a spec and build a generation of its *object* ([`Object`]) from it. The
//! [`Supervisor`] watches the store's `/config/objects/` keys and reconciles: for a new or
//! changed spec it builds a generation, starts it with the generation it replaces (which it
//! takes over from), publishes it and closes the replaced one; a removed spec closes the
//! object. A spec that fails to build never touches the running generation.
//!
//! Modules depend downwards only: `category`, `spec`, `member`, `shards` and `object` stand
//! alone; `metrics` counts in `shards`; `kind` adds the kind trait (naming the
//! [`Supervisor`] handle its methods receive); `running` and `registry` build on `kind`;
//! `supervisor` uses them all.
#![forbid(unsafe_code)]

mod category;
mod kind;
mod member;
pub mod metrics;
mod object;
mod process_metrics;
mod registry;
mod running;
pub mod shards;
mod spec;
mod supervisor;

pub use category::Category;
pub use kind::{no_defaults, object_schema, KindInfo, ObjectKind};
pub use member::{
    ClusterOptions, ClusterRole, EtcdMemberStatus, MemberInfo, MemberOptions, MemberStatus,
    DEFAULT_CLUSTER_NAME,
};
pub use object::Object;
pub use registry::KindRegistry;
pub use running::Running;
pub use spec::{parse_stored, Spec};
pub use supervisor::Supervisor;

pub use process_metrics::process_metrics;
