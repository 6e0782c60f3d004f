//! The `WebSocketProxy` filter: a WebSocket reverse proxy.
//!
//! A handshake request goes to the first candidate pool whose `filter` matches it, or else
//! to the main pool. The pool picks a healthy `ws://`/`wss://` server, checks the client's
//! handshake (and its `Origin`), opens the upstream WebSocket with the client's headers
//! (without the handshake ones, plus `X-Forwarded-*`), and answers `101` with the
//! subprotocol the upstream chose. Once the HTTPServer has sent the `101` and handed the
//! connection over (hyper's upgrade), a task relays frames both ways, as they are, until
//! both sides closed. Failures: no healthy server 503 `internalError`; bad handshake 400/405/426 and
//! forbidden `Origin` 403 `clientError`; upstream unreachable or refusing the upgrade 503
//! `serverError` (not a registered result, as in Easegress: it ends the flow).
//!
//! - `spec.rs`: the YAML; `pool.rs`: pools checked and built on `eg-upstream`;
//! - `session.rs`: one handshake and the hand-over; `handshake.rs`: the client's handshake;
//!   `origin.rs`: the `Origin` check; `forward_headers.rs`: the upstream request headers;
//! - `relay.rs`: the frame relay; `frames.rs`: frame headers; `stats.rs`: the pool
//!   statistics in the status.

mod forward_headers;
mod frames;
pub mod handshake;
mod origin;
mod pool;
mod relay;
mod session;
pub mod spec;
mod stats;

#[cfg(test)]
mod tests;

use std::any::Any;

use eg_protocols::Context;
use eg_spec::SpecError;
use serde_json::{json, Value};

use crate::filter::{BuildContext, Built, Filter, FilterSpec, Handled};
use crate::registry::FilterKind;

use self::pool::{Pool, PoolPlan};
use self::spec::WebSocketProxySpec;

pub use self::relay::CLOSE_WAIT;
pub use self::session::{RESULT_CLIENT_ERROR, RESULT_INTERNAL_ERROR, RESULT_SERVER_ERROR};
pub use self::spec::DEFAULT_MAX_MSG_SIZE;

/// The kind name.
pub const KIND_NAME: &str = "WebSocketProxy";

/// The `WebSocketProxy` kind.
pub const KIND: FilterKind = FilterKind::new(
    KIND_NAME,
    "WebSocketProxy is the proxy for web sockets",
    &[RESULT_INTERNAL_ERROR, RESULT_CLIENT_ERROR],
    spec::default_spec,
    build,
)
.with_check(check)
.with_schema(crate::spec_schema::<WebSocketProxySpec>);

fn check(spec: &FilterSpec, _ctx: &BuildContext<'_>) -> Result<Vec<String>, SpecError> {
    WsProxyPlan::check(&spec.doc, &spec.path, &spec.name).map(|p| p.warnings)
}

fn build(spec: &FilterSpec, _ctx: &BuildContext<'_>) -> Result<Built, SpecError> {
    let plan = WsProxyPlan::check(&spec.doc, &spec.path, &spec.name)?;
    let warnings = plan.warnings.clone();
    Ok(Built::new(WebSocketProxy::from_plan(plan)?, warnings))
}

/// A checked spec: its pools checked and compiled, nothing live yet.
struct WsProxyPlan {
    main: PoolPlan,
    candidates: Vec<PoolPlan>,
    warnings: Vec<String>,
}

impl WsProxyPlan {
    fn check(doc: &Value, path: &str, name: &str) -> Result<WsProxyPlan, SpecError> {
        let (spec, warnings) = eg_spec::decode_kind::<WebSocketProxySpec>(doc, path)?.into_parts();
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
        let mut main = None;
        let mut candidates = Vec::new();
        for (j, p) in pools.iter().enumerate() {
            let ppath = format!("{}[{j}]", field("pools"));
            if p.filter.is_none() {
                main = Some(PoolPlan::check(
                    p,
                    &ppath,
                    format!("websocketproxy#{name}#main"),
                )?);
            } else {
                let pname = format!("websocketproxy#{name}#candidate#{}", candidates.len());
                candidates.push(PoolPlan::check(p, &ppath, pname)?);
            }
        }
        let Some(main) = main else {
            return Err(SpecError::new(field("pools"), "a main pool is required"));
        };
        Ok(WsProxyPlan {
            main,
            candidates,
            warnings,
        })
    }
}

/// A built `WebSocketProxy` filter.
pub struct WebSocketProxy {
    main: Pool,
    candidates: Box<[Pool]>,
}

impl WebSocketProxy {
    fn from_plan(plan: WsProxyPlan) -> Result<WebSocketProxy, SpecError> {
        Ok(WebSocketProxy {
            main: Pool::build(plan.main)?,
            candidates: plan
                .candidates
                .into_iter()
                .map(Pool::build)
                .collect::<Result<Vec<_>, _>>()?
                .into(),
        })
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
}

impl Filter for WebSocketProxy {
    fn handle<'a>(&'a self, ctx: &'a mut Context) -> Handled<'a> {
        let pool = self.pool_for(ctx);
        Handled::Pending(Box::pin(pool.handle(ctx)))
    }

    fn init(&self, prev: Option<&dyn Filter>) {
        let prev = prev.and_then(|p| p.as_any().downcast_ref::<WebSocketProxy>());
        self.main.start(prev.map(|p| &p.main));
        for (i, c) in self.candidates.iter().enumerate() {
            c.start(prev.and_then(|p| p.candidates.get(i)));
        }
    }

    fn status(&self) -> Value {
        let mut s = json!({ "mainPool": self.main.status() });
        if !self.candidates.is_empty() {
            s["candidatePools"] = self.candidates.iter().map(Pool::status).collect();
        }
        s
    }

    fn close(&self) {
        self.main.stop();
        for c in self.candidates.iter() {
            c.stop();
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
