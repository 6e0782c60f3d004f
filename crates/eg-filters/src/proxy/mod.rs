//! The `Proxy` filter: server pools, load balancing, health checks.
//!
//! Servers, load balancing, health checks, request matchers and connections are the
//! `eg-upstream` crate's; this module holds what is Proxy's own: its spec, the call of a
//! request through a pool, the header work, compression, mirroring and metrics.
//!
//! A request goes to the first candidate pool whose `filter` matches it, or else to the
//! main pool (the one without `filter`); a matching `mirrorPool` also gets a copy. The pool
//! picks a healthy server, sends the request over a pooled keep-alive connection (bodies
//! streamed), and stores the answer as the response of the active namespace. Failures map
//! to Easegress's statuses and results: no healthy server 503 `internalError`, network
//! error 503 `serverError`, pool timeout 408 `timeout`, client gone 499 `clientError`,
//! response body over `serverMaxBodySize` 500 `internalError`, a status in `failureCodes`
//! keeps the upstream response and returns `failureCode`. A pool's `circuitBreakerPolicy`
//! wraps the call (retries included): an open breaker answers 503 `shortCircuited`
//! without calling the upstream. A WebSocket handshake is answered 501 `internalError`,
//! naming `WebSocketProxy` (`upgrade.rs`).

pub(crate) mod answer;
mod cache;
pub(crate) mod compression;
pub(crate) mod exchange;
pub(crate) mod failure;
pub(crate) mod forward;
mod metrics;
mod mirror;
mod pool;
pub mod spec;
mod upgrade;

#[cfg(test)]
pub(crate) mod tests;

use std::any::Any;
use std::sync::Arc;

use eg_protocols::Context;
use eg_spec::SpecError;
use eg_supervisor::metrics::MetricsRegistry;
use eg_supervisor::MemberInfo;
use eg_upstream::connections::MtlsMaterial;
use serde_json::{json, Value};

use crate::filter::{BuildContext, Built, Filter, FilterSpec, Handled};
use crate::registry::FilterKind;
use crate::resilience::Policies;

use self::compression::Compression;
use self::pool::{Pool, PoolEnv, PoolPlan};
use self::spec::{ProxySpec, DEFAULT_MAX_IDLE_CONNS, DEFAULT_MAX_IDLE_CONNS_PER_HOST};

pub use self::failure::STATUS_CLIENT_CLOSED_REQUEST;
pub use self::pool::DEFAULT_SERVER_MAX_BODY_SIZE;

/// The kind name.
pub const KIND_NAME: &str = "Proxy";
/// Result: the request could not be handled (no healthy server, oversized response, ...).
pub const RESULT_INTERNAL_ERROR: &str = "internalError";
/// Result: the client went away (status 499).
pub const RESULT_CLIENT_ERROR: &str = "clientError";
/// Result: the upstream could not be reached (status 503).
pub const RESULT_SERVER_ERROR: &str = "serverError";
/// Result: the upstream answered with one of the pool's `failureCodes`.
pub const RESULT_FAILURE_CODE: &str = "failureCode";
/// Result: the pool `timeout` passed (status 408).
pub const RESULT_TIMEOUT: &str = "timeout";
/// Result: a circuit breaker is open (status 503).
pub const RESULT_SHORT_CIRCUITED: &str = "shortCircuited";
/// Continue with the next filter.
const RESULT_OK: &str = crate::RESULT_OK;

/// The `Proxy` kind.
pub const KIND: FilterKind = FilterKind::new(
    KIND_NAME,
    "Proxy sets the proxy of proxy servers",
    &[
        RESULT_INTERNAL_ERROR,
        RESULT_CLIENT_ERROR,
        RESULT_SERVER_ERROR,
        RESULT_FAILURE_CODE,
        RESULT_TIMEOUT,
        RESULT_SHORT_CIRCUITED,
    ],
    spec::default_spec,
    build,
)
.with_check(check)
.with_schema(crate::spec_schema::<ProxySpec>);

fn check(spec: &FilterSpec, ctx: &BuildContext<'_>) -> Result<Vec<String>, SpecError> {
    ProxyPlan::check(&spec.doc, &spec.path, &spec.name, ctx.resilience).map(|p| p.warnings)
}

fn build(spec: &FilterSpec, ctx: &BuildContext<'_>) -> Result<Built, SpecError> {
    let plan = ProxyPlan::check(&spec.doc, &spec.path, &spec.name, ctx.resilience)?;
    let warnings = plan.warnings.clone();
    Ok(Built::new(
        Proxy::from_plan(plan, ctx.metrics, ctx.member)?,
        warnings,
    ))
}

/// A checked Proxy spec: its pools checked and compiled, nothing live yet.
struct ProxyPlan {
    name: String,
    main: PoolPlan,
    candidates: Vec<PoolPlan>,
    mirror: Option<PoolPlan>,
    compression: Option<Compression>,
    /// Unknown keys found in the spec.
    warnings: Vec<String>,
}

impl ProxyPlan {
    /// Decodes and checks a Proxy's filter document; `path` prefixes error paths (e.g.
    /// `filters[0]`). Builds nothing: no client, connection pool or task.
    fn check(
        doc: &Value,
        path: &str,
        name: &str,
        resilience: &Policies,
    ) -> Result<ProxyPlan, SpecError> {
        let (spec, warnings) = eg_spec::decode_kind::<ProxySpec>(doc, path)?.into_parts();
        let field = |f: &str| eg_spec::error::join_path(path, f);
        let Some(pools) = &spec.pools else {
            return Err(SpecError::new(field("pools"), "pools is required"));
        };
        let mains = pools.iter().filter(|p| p.filter.is_none()).count();
        if mains != 1 {
            return Err(SpecError::new(
                field("pools"),
                format!(
                    "one and only one mainPool (a pool without filter) is required, found {mains}"
                ),
            ));
        }
        if let Some(m) = &spec.mirror_pool {
            if m.filter.is_none() {
                return Err(SpecError::new(
                    field("mirrorPool.filter"),
                    "filter of mirrorPool is required",
                ));
            }
            if m.memory_cache.is_some() {
                return Err(SpecError::new(
                    field("mirrorPool.memoryCache"),
                    "memoryCache must be empty in mirrorPool",
                ));
            }
        }
        for (f, v) in [
            ("maxIdleConns", spec.max_idle_conns),
            ("maxIdleConnsPerHost", spec.max_idle_conns_per_host),
        ] {
            if v.is_some_and(|v| v < 0) {
                return Err(SpecError::new(field(f), "must not be negative"));
            }
        }
        if spec.max_redirection < 0 {
            return Err(SpecError::new(
                field("maxRedirection"),
                "must not be negative",
            ));
        }
        let mtls = match &spec.mtls {
            Some(m) => Some(MtlsMaterial::from_spec(m, &field("mtls"))?),
            None => None,
        };
        let insecure =
            spec.insecure_skip_verify || spec.mtls.as_ref().is_some_and(|m| m.insecure_skip_verify);
        let max_idle_per_host = match spec.max_idle_conns_per_host {
            None | Some(0) => DEFAULT_MAX_IDLE_CONNS_PER_HOST,
            Some(n) => n,
        } as usize;
        // Go's `MaxIdleConns`: 0 is no limit.
        let max_idle = match spec.max_idle_conns {
            None => DEFAULT_MAX_IDLE_CONNS as usize,
            Some(0) => usize::MAX,
            Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
        };
        let env = PoolEnv {
            resilience,
            server_max_body_size: spec.server_max_body_size,
            insecure,
            mtls,
            max_idle_per_host,
            max_idle,
            max_redirection: u32::try_from(spec.max_redirection).unwrap_or(u32::MAX),
        };
        let mut main = None;
        let mut candidates = Vec::new();
        for (j, p) in pools.iter().enumerate() {
            let ppath = format!("{}[{j}]", field("pools"));
            if p.filter.is_none() {
                let pname = format!("proxy#{name}#main");
                main = Some(PoolPlan::check(p, &ppath, pname, &env)?);
            } else {
                let pname = format!("proxy#{name}#candidate#{}", candidates.len());
                candidates.push(PoolPlan::check(p, &ppath, pname, &env)?);
            }
        }
        let Some(main) = main else {
            return Err(SpecError::new(field("pools"), "a main pool is required"));
        };
        let mirror = match &spec.mirror_pool {
            Some(m) => Some(PoolPlan::check(
                m,
                &field("mirrorPool"),
                format!("proxy#{name}#mirror"),
                &env,
            )?),
            None => None,
        };
        Ok(ProxyPlan {
            name: name.to_string(),
            main,
            candidates,
            mirror,
            compression: spec.compression.map(|c| Compression {
                min_length: u64::from(c.min_length),
            }),
            warnings,
        })
    }
}

/// A built `Proxy` filter.
pub struct Proxy {
    name: String,
    main: Pool,
    candidates: Box<[Pool]>,
    mirror: Option<Arc<Pool>>,
    compression: Option<Compression>,
}

impl Proxy {
    /// Decodes, checks and builds a Proxy from its filter document. `path` prefixes error
    /// paths (e.g. `filters[0]`). Starts nothing: health checks start in [`Filter::init`].
    pub fn build(
        doc: &Value,
        path: &str,
        name: &str,
        ctx: &BuildContext<'_>,
    ) -> Result<Proxy, SpecError> {
        Proxy::from_plan(
            ProxyPlan::check(doc, path, name, ctx.resilience)?,
            ctx.metrics,
            ctx.member,
        )
    }

    fn from_plan(
        plan: ProxyPlan,
        metrics: &MetricsRegistry,
        member: &MemberInfo,
    ) -> Result<Proxy, SpecError> {
        let main = Pool::build(plan.main, metrics, member)?;
        let candidates = plan
            .candidates
            .into_iter()
            .map(|p| Pool::build(p, metrics, member))
            .collect::<Result<Vec<_>, _>>()?;
        let mirror = match plan.mirror {
            Some(m) => Some(Arc::new(Pool::build(m, metrics, member)?)),
            None => None,
        };
        Ok(Proxy {
            name: plan.name,
            main,
            candidates: candidates.into(),
            mirror,
            compression: plan.compression,
        })
    }

    /// The filter name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The pool for the request of the active namespace.
    fn pool_for(&self, ctx: &Context) -> &Pool {
        if let Some(req) = ctx.request() {
            for p in self.candidates.iter() {
                if p.matcher
                    .as_ref()
                    .is_some_and(|m| m.matches(req, ctx.real_ip))
                {
                    return p;
                }
            }
        }
        &self.main
    }

    fn pools(&self) -> impl Iterator<Item = &Pool> {
        std::iter::once(&self.main)
            .chain(self.candidates.iter())
            .chain(self.mirror.as_deref())
    }
}

impl Filter for Proxy {
    fn handle<'a>(&'a self, ctx: &'a mut Context) -> Handled<'a> {
        if upgrade::refuse_websocket(ctx) {
            return Handled::Done(RESULT_INTERNAL_ERROR);
        }
        if let Some(m) = &self.mirror {
            mirror::mirror_if_matching(m, ctx);
        }
        let pool = self.pool_for(ctx);
        // Built in its box: the future is kilobytes.
        let handling = eg_protocols::boxed_in_place!(pool.handle(ctx, self.compression));
        Handled::Pending(Box::into_pin(handling))
    }

    fn init(&self, prev: Option<&dyn Filter>) {
        let prev = prev.and_then(|p| p.as_any().downcast_ref::<Proxy>());
        self.main.start(prev.map(|p| &p.main));
        for (i, c) in self.candidates.iter().enumerate() {
            c.start(prev.and_then(|p| p.candidates.get(i)));
        }
        if let Some(m) = &self.mirror {
            m.start(prev.and_then(|p| p.mirror.as_deref()));
        }
    }

    fn status(&self) -> Value {
        let mut s = json!({ "mainPool": self.main.status() });
        if !self.candidates.is_empty() {
            s["candidatePools"] = self.candidates.iter().map(Pool::status).collect();
        }
        if let Some(m) = &self.mirror {
            s["mirrorPool"] = m.status();
        }
        s
    }

    fn close(&self) {
        for p in self.pools() {
            p.stop();
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
