//! The filters layer.
//!
//! A filter is one step of a pipeline: it looks at the request of the active namespace,
//! may set a response, and returns a *result* — `""` to continue, or one of the results
//! its kind registers, which the pipeline's `jumpIf` maps to a later step (or which ends
//! the flow). Each built-in kind lives in its own module with its spec beside it; the
//! server's registry lists them.
#![forbid(unsafe_code)]

mod der;
mod filter;
mod redirect;
pub mod registry;
pub mod resilience;
#[cfg(test)]
mod schema_tests;
pub mod spec;
#[cfg(test)]
mod testkit;

pub mod adapt;
pub mod builder;
pub mod certextractor;
pub mod corsadaptor;
pub mod fallback;
pub mod fileserver;
pub mod grpcproxy;
pub mod headercounter;
pub mod headerlookup;
pub mod headertojson;
pub mod mock;
pub mod oidcadaptor;
pub mod opafilter;
pub mod proxy;
pub mod ratelimiter;
pub mod redirector;
pub mod redirectorv2;
pub mod remotefilter;
pub mod requestadaptor;
pub mod responseadaptor;
pub mod signer;
pub mod simplehttpproxy;
pub mod template;
pub mod validator;
pub mod websocketproxy;

pub use filter::{BuildContext, Built, Filter, FilterFuture, FilterSpec, Handled, RESULT_OK};
pub use registry::{object_schema, spec_schema, BuildFn, CheckFn, FilterKind, FilterRegistry};
