//! The `GRPCProxy` filter: relays gRPC calls (unary and streaming) to server pools over
//! HTTP/2 with prior knowledge, frames and trailers passed as they come.
//!
//! Pools, load balancing (with `forward`) and request matchers (with `methods`) are
//! `eg-upstream`'s; connections are its [`H2Pool`], shared across generations. A call is
//! taken by the first candidate pool whose `filter` matches, else by the main pool.
//! Failures answer with the gRPC statuses Easegress uses: `Unavailable` when short
//! circuited, `InvalidArgument` when no server is available, `Internal` for a bad
//! forward target, `DeadlineExceeded` when `timeout` or `grpc-timeout` passes (before the
//! answer starts, or as trailers ending it); an upstream's own error status passes through untouched.

mod deadline;
mod pool;
pub mod spec;

use std::sync::Arc;
use std::time::Duration;

use eg_protocols::Context;
use eg_spec::SpecError;
use eg_upstream::connections::{H2Pool, H2Settings};
use parking_lot::Mutex;
use serde_json::{json, Value};

use crate::filter::{Built, Filter, FilterSpec, Handled};
use crate::registry::FilterKind;
use crate::BuildContext;
use pool::{CallEnv, Pool};
use spec::GrpcProxySpec;

/// The kind name.
pub const KIND_NAME: &str = "GRPCProxy";
/// Result: the call could not be handled (bad target, no connection).
pub const RESULT_INTERNAL_ERROR: &str = "internalError";
/// Result: the call asked for something impossible (no available server).
pub const RESULT_CLIENT_ERROR: &str = "clientError";
/// Result: the upstream failed the call (an error status, a broken stream, a deadline).
pub const RESULT_SERVER_ERROR: &str = "serverError";
/// Result: a circuit breaker is open.
pub const RESULT_SHORT_CIRCUITED: &str = "shortCircuited";

/// The `GRPCProxy` filter kind.
pub const KIND: FilterKind = FilterKind::new(
    KIND_NAME,
    "GRPCProxy is the filter of gRPC proxies",
    &[
        RESULT_INTERNAL_ERROR,
        RESULT_CLIENT_ERROR,
        RESULT_SERVER_ERROR,
        RESULT_SHORT_CIRCUITED,
    ],
    spec::default_spec,
    build,
)
.with_check(check)
.with_schema(crate::spec_schema::<GrpcProxySpec>);

/// A checked spec.
struct Plan {
    main: Pool,
    candidates: Vec<Pool>,
    settings: H2Settings,
    timeout: Option<Duration>,
    warnings: Vec<String>,
}

fn positive(d: Option<eg_spec::GoDuration>) -> Option<Duration> {
    d.map(eg_spec::GoDuration::get).filter(|d| !d.is_zero())
}

fn plan(spec: &FilterSpec, ctx: &BuildContext<'_>) -> Result<Plan, SpecError> {
    let (s, warnings) = crate::spec::decode_filter_spec::<GrpcProxySpec>(spec)?.into_parts();
    let field = |f: &str| eg_spec::error::join_path(&spec.path, f);
    let max = s
        .max_idle_conns_per_host
        .unwrap_or(spec::DEFAULT_MAX_IDLE_CONNS_PER_HOST);
    if max <= 0 {
        return Err(SpecError::new(
            field("maxIdleConnsPerHost"),
            format!("must be at least 1, got {max}"),
        ));
    }
    let mut main = None;
    let mut candidates = Vec::new();
    for (i, p) in s.pools.iter().enumerate() {
        let path = field(&format!("pools[{i}]"));
        if p.filter.is_none() {
            if main.is_some() {
                return Err(SpecError::new(
                    field("pools"),
                    "one and only one mainPool (a pool without filter) is required",
                ));
            }
            let name = format!("proxy#{}#main", spec.name);
            main = Some(Pool::build(p, &path, name, ctx.resilience)?);
        } else {
            let name = format!("proxy#{}#candidate#{}", spec.name, candidates.len());
            candidates.push(Pool::build(p, &path, name, ctx.resilience)?);
        }
    }
    let Some(main) = main else {
        return Err(SpecError::new(
            field("pools"),
            "one and only one mainPool (a pool without filter) is required",
        ));
    };
    Ok(Plan {
        main,
        candidates,
        settings: H2Settings {
            max_per_host: max as usize,
            connect_timeout: positive(s.connect_timeout),
            borrow_timeout: positive(s.borrow_timeout),
        },
        timeout: positive(s.timeout),
        warnings,
    })
}

fn check(spec: &FilterSpec, ctx: &BuildContext<'_>) -> Result<Vec<String>, SpecError> {
    plan(spec, ctx).map(|p| p.warnings)
}

fn build(spec: &FilterSpec, ctx: &BuildContext<'_>) -> Result<Built, SpecError> {
    let p = plan(spec, ctx)?;
    Ok(Built::new(
        GrpcProxy {
            main: p.main,
            candidates: p.candidates,
            timeout: p.timeout,
            settings: p.settings,
            conns: Mutex::new(Arc::new(H2Pool::new(p.settings))),
        },
        p.warnings,
    ))
}

/// A running `GRPCProxy`.
pub struct GrpcProxy {
    main: Pool,
    candidates: Vec<Pool>,
    timeout: Option<Duration>,
    settings: H2Settings,
    /// The connections, taken over from the previous generation in `init`.
    conns: Mutex<Arc<H2Pool>>,
}

impl Filter for GrpcProxy {
    fn handle<'a>(&'a self, ctx: &'a mut Context) -> Handled<'a> {
        Handled::Pending(Box::pin(async move {
            let pool = ctx
                .request()
                .and_then(|req| {
                    self.candidates.iter().find(|p| {
                        p.matcher
                            .as_ref()
                            .is_some_and(|m| m.matches(req, ctx.real_ip))
                    })
                })
                .unwrap_or(&self.main);
            let conns = self.conns.lock().clone();
            let env = CallEnv {
                conns: &conns,
                timeout: self.timeout,
            };
            pool.handle(ctx, &env).await
        }))
    }

    fn init(&self, prev: Option<&dyn Filter>) {
        let Some(prev) = prev.and_then(|p| p.as_any().downcast_ref::<GrpcProxy>()) else {
            return;
        };
        let conns = prev.conns.lock().clone();
        conns.set_settings(self.settings);
        *self.conns.lock() = conns;
        self.main.inherit(&prev.main);
        for (mine, theirs) in self.candidates.iter().zip(&prev.candidates) {
            mine.inherit(theirs);
        }
    }

    fn status(&self) -> Value {
        let mut pools = vec![self.main.status()];
        pools.extend(self.candidates.iter().map(Pool::status));
        json!({"pools": pools})
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}
