//! Tests of the SimpleHTTPProxy filter: mock upstreams on 127.0.0.1:0 driven through the
//! filter with a real `Context`. `CONNECT` tunnels need the HTTPServer's connection
//! hand-over and are tested end to end (`crates/easegress-server/tests/forward_proxy.rs`).

mod failures;
mod features;
mod forwarding;
mod spec_errors;

use eg_spec::SpecError;
use serde_json::{json, Value};

use super::SimpleHttpProxy;
use crate::filter::Filter;
pub use crate::proxy::tests::{body_text, chan_body, closed_addr, ctx, response, Reply, Upstream};
use crate::resilience::Policies;

/// Builds a SimpleHTTPProxy called `p` at `filters[0]` from `doc`, with the pipeline
/// policies `resilience`.
pub fn try_build_with(mut doc: Value, resilience: &[Value]) -> Result<SimpleHttpProxy, SpecError> {
    if let Some(m) = doc.as_object_mut() {
        m.insert("name".into(), "p".into());
        m.insert("kind".into(), "SimpleHTTPProxy".into());
    }
    let (policies, _) = Policies::decode(resilience, "resilience")?;
    SimpleHttpProxy::build(&doc, "filters[0]", "p", &policies)
}

/// Builds a SimpleHTTPProxy from `doc`.
pub fn proxy(doc: Value) -> SimpleHttpProxy {
    let p = try_build_with(doc, &[]).unwrap();
    p.init(None);
    p
}

/// A SimpleHTTPProxy with the default spec.
pub fn plain() -> SimpleHttpProxy {
    proxy(json!({}))
}

/// Runs the filter; returns the result.
pub async fn run(p: &SimpleHttpProxy, ctx: &mut eg_protocols::Context) -> &'static str {
    p.handle(ctx).result().await
}

/// A retry policy document called `retry`.
pub fn retry_policy(max_attempts: u32) -> Value {
    json!({"name": "retry", "kind": "Retry", "maxAttempts": max_attempts, "waitDuration": "1ms"})
}
