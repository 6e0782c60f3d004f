//! The `SimpleHTTPProxy` filter: sends the request of the active namespace to its own URL.
//!
//! There are no server pools: the request goes where its absolute URL says — a URL a
//! `RequestBuilder` built, or the absolute-form target of a forward-proxy request
//! (`GET http://host/path HTTP/1.1`). `CONNECT host:port` opens a tunnel to the target.
//! The pieces are the Proxy's: the shared upstream client and its keep-alive host pools
//! (`eg-upstream`), the header work, answer reading, compression and failure mapping of
//! `proxy/`, the pipeline's `Retry` policies.
//!
//! A forward proxy open to everyone is abused: restrict who may use it with the
//! HTTPServer's (or the rule's) `ipFilter`, or a `Validator` before this filter.

mod hosts;
mod send;
pub mod spec;
mod stats;
mod tunnel;

#[cfg(test)]
mod tests;

use std::any::Any;
use std::sync::Arc;
use std::time::Duration;

use eg_protocols::Context;
use eg_spec::SpecError;
use eg_upstream::connections::{shared_client, UpstreamClient};
use http::Method;
use serde_json::Value;

use crate::filter::{BuildContext, Built, Filter, FilterSpec, Handled};
use crate::proxy::compression::Compression;
use crate::registry::FilterKind;
use crate::resilience::{Policies, RetryPolicy};

use self::hosts::Hosts;
use self::spec::{Plan, SimpleHttpProxySpec};
use self::stats::Stats;

pub use crate::proxy::{RESULT_CLIENT_ERROR, RESULT_INTERNAL_ERROR, RESULT_SERVER_ERROR};

/// The kind name.
pub const KIND_NAME: &str = "SimpleHTTPProxy";
/// Continue with the next filter.
const RESULT_OK: &str = crate::RESULT_OK;

/// The `SimpleHTTPProxy` kind.
pub const KIND: FilterKind = FilterKind::new(
    KIND_NAME,
    "SimpleHTTPProxy sends the request to its own URL: a forward proxy, CONNECT tunnels included",
    &[
        RESULT_INTERNAL_ERROR,
        RESULT_CLIENT_ERROR,
        RESULT_SERVER_ERROR,
    ],
    spec::default_spec,
    build,
)
.with_check(check)
.with_schema(crate::spec_schema::<SimpleHttpProxySpec>);

fn check(spec: &FilterSpec, ctx: &BuildContext<'_>) -> Result<Vec<String>, SpecError> {
    Plan::check(&spec.doc, &spec.path, &spec.name, ctx.resilience).map(|p| p.warnings)
}

fn build(spec: &FilterSpec, ctx: &BuildContext<'_>) -> Result<Built, SpecError> {
    let plan = Plan::check(&spec.doc, &spec.path, &spec.name, ctx.resilience)?;
    let warnings = plan.warnings.clone();
    Ok(Built::new(
        SimpleHttpProxy::from_plan(plan, &spec.path)?,
        warnings,
    ))
}

/// A built `SimpleHTTPProxy` filter.
pub struct SimpleHttpProxy {
    name: String,
    retry: Option<RetryPolicy>,
    timeout: Option<Duration>,
    compression: Option<Compression>,
    max_body: Option<u64>,
    client: Arc<UpstreamClient>,
    hosts: Hosts,
    stats: Arc<Stats>,
}

impl SimpleHttpProxy {
    /// Decodes, checks and builds the filter from its document; `path` prefixes error
    /// paths (e.g. `filters[0]`).
    pub fn build(
        doc: &Value,
        path: &str,
        name: &str,
        resilience: &Policies,
    ) -> Result<SimpleHttpProxy, SpecError> {
        SimpleHttpProxy::from_plan(Plan::check(doc, path, name, resilience)?, path)
    }

    fn from_plan(plan: Plan, path: &str) -> Result<SimpleHttpProxy, SpecError> {
        let client = shared_client(&plan.settings).map_err(|e| SpecError::new(path, e))?;
        Ok(SimpleHttpProxy {
            name: plan.name,
            retry: plan.retry,
            timeout: plan.timeout,
            compression: plan.compression,
            max_body: plan.max_body,
            client,
            hosts: Hosts::default(),
            stats: Arc::default(),
        })
    }

    /// The filter name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Filter for SimpleHttpProxy {
    fn handle<'a>(&'a self, ctx: &'a mut Context) -> Handled<'a> {
        let connect = ctx.request().is_some_and(|r| r.method() == Method::CONNECT);
        if connect {
            Handled::Pending(Box::pin(self.tunnel(ctx)))
        } else {
            Handled::Pending(Box::pin(self.forward(ctx)))
        }
    }

    fn status(&self) -> Value {
        self.stats.status(self.hosts.remembered())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
