//! The `GRPCServer` kind: a gRPC traffic gate on HTTP/2 with prior knowledge (h2c).
//!
//! A server matches each call against its rules (host → full method → headers → IP
//! filters, as Easegress does) and hands it to the matched pipeline, wrapped in the
//! server's global filter when it has one. Calls that find no route are answered with a
//! gRPC status, as Easegress does: `PermissionDenied` (IP filters), `NotFound` (no match,
//! header mismatch, missing pipeline), `Internal` (no response).
//!
//! The listener, its connection limit, handover across generations and binary upgrades,
//! the route cache, the real client IP and `X-Forwarded-For` are those of every traffic
//! gate (`crate::gate`); rule changes swap in without dropping connections, a change of
//! port, address or connection timers restarts the listener.

mod mux;
mod router;
pub mod spec;

#[cfg(test)]
mod tests;

use std::any::Any;
use std::sync::Arc;
use std::time::Duration;

use eg_spec::{GoDuration, SpecError};
use eg_supervisor::metrics::Cell;
use eg_supervisor::{object_schema, Category, KindInfo, Object, ObjectKind, Spec, Supervisor};
use parking_lot::Mutex;
use serde_json::{json, Value};

use crate::gate::generation::Generation;
use crate::gate::h2c::H2cConfig;
use crate::gate::listener::{self, ListenerConfig};
use mux::Mux;
pub use spec::GrpcServerSpec;

/// The kind name.
pub const KIND: &str = "GRPCServer";

/// The `GRPCServer` kind's description (category `TrafficGate`; egctl `grpcserver`,
/// `grpc`).
pub const INFO: KindInfo = KindInfo {
    kind: KIND,
    category: Category::TrafficGate,
    name: "grpcserver",
    aliases: &["grpc", "grpcservers"],
    default_spec: || {
        json!({
            "maxConnections": spec::DEFAULT_MAX_CONNECTIONS,
            "maxConnectionIdle": "60s",
        })
    },
    schema: object_schema,
};

/// The `GRPCServer` object kind.
#[derive(Debug, Default, Clone, Copy)]
pub struct GrpcServerKind;

impl GrpcServerKind {
    /// The kind, for registering in the server's registry.
    pub fn new() -> GrpcServerKind {
        GrpcServerKind
    }
}

/// A spec that passed every check, with what starting it needs.
struct Checked {
    spec: GrpcServerSpec,
    warnings: Vec<String>,
    parts: mux::Parts,
    listener: ListenerConfig,
    max_conns: usize,
}

/// A duration field: `None` when unset, `Err` when zero and zero is not allowed.
fn duration(
    field: &str,
    d: Option<GoDuration>,
    zero_ok: bool,
) -> Result<Option<Duration>, SpecError> {
    match d.map(GoDuration::get) {
        Some(d) if d.is_zero() && !zero_ok => Err(SpecError::new(field, "must be greater than 0")),
        other => Ok(other),
    }
}

fn check(doc: &Spec) -> Result<Checked, SpecError> {
    let (s, mut warnings) = spec::decode_spec(&doc.doc)?.into_parts();
    let port = match s.port {
        None => return Err(SpecError::new("port", "port is required")),
        Some(p) if (spec::MIN_PORT..=65535).contains(&p) => p as u16,
        Some(p) => {
            return Err(SpecError::new(
                "port",
                format!("must be {}..65535, got {p}", spec::MIN_PORT),
            ))
        }
    };
    if s.max_connections == Some(0) {
        return Err(SpecError::new("maxConnections", "must be at least 1"));
    }
    let keepalive_time =
        duration("keepaliveTime", s.keepalive_time, false)?.unwrap_or(spec::DEFAULT_KEEPALIVE_TIME);
    let keepalive_timeout = duration("keepaliveTimeout", s.keepalive_timeout, false)?
        .unwrap_or(spec::DEFAULT_KEEPALIVE_TIMEOUT);
    // 0 means "never", as an unset field does in gRPC.
    let max_idle = match duration("maxConnectionIdle", s.max_connection_idle, true)? {
        None => Some(spec::DEFAULT_MAX_CONNECTION_IDLE),
        Some(d) if d.is_zero() => None,
        Some(d) => Some(d),
    };
    let max_age =
        duration("maxConnectionAge", s.max_connection_age, true)?.filter(|d| !d.is_zero());
    let max_age_grace = duration("maxConnectionAgeGrace", s.max_connection_age_grace, true)?
        .filter(|d| !d.is_zero());
    duration("minTimeClientSendPing", s.min_time_client_send_ping, true)?;
    if s.min_time_client_send_ping.is_some() || s.permit_clint_send_ping_without_stream {
        warnings.push(
            "minTimeClientSendPing, permitClintSendPingWithoutStream: accepted but not enforced; \
             client pings are answered at any rate"
                .to_string(),
        );
    }
    let parts = mux::compile_parts(&s)?;
    let listener = ListenerConfig {
        address: s.address.clone(),
        port,
        tls: None,
        tls_source: Vec::new(),
        keep_alive: true,
        keep_alive_timeout: None,
        h2c: Some(H2cConfig {
            keepalive_time: Some(keepalive_time),
            keepalive_timeout,
            max_idle,
            max_age,
            max_age_grace,
        }),
    };
    let max_conns = s.max_connections.unwrap_or(spec::DEFAULT_MAX_CONNECTIONS) as usize;
    Ok(Checked {
        spec: s,
        warnings,
        parts,
        listener,
        max_conns,
    })
}

impl ObjectKind for GrpcServerKind {
    fn info(&self) -> &'static KindInfo {
        &INFO
    }

    fn validate(&self, spec: &Spec, _sup: &Supervisor) -> Result<Vec<String>, SpecError> {
        check(spec).map(|c| c.warnings)
    }

    fn build(&self, spec: &Spec, sup: &Supervisor) -> Result<Arc<dyn Object>, SpecError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(SpecError::doc(
                "a GRPCServer can only be created inside the server's runtime",
            ));
        }
        let checked = check(spec)?;
        listener::check_connection_limit(spec.name(), checked.max_conns);
        Ok(Arc::new(GrpcServer {
            pending: Mutex::new(Some(Pending {
                name: spec.name().to_string(),
                sup: sup.clone(),
                checked,
            })),
            generation: Generation::new(spec.name()),
        }))
    }
}

/// What a built generation starts with.
struct Pending {
    name: String,
    sup: Supervisor,
    checked: Checked,
}

/// A GRPCServer generation.
pub struct GrpcServer {
    /// What `build` prepared, taken by `start`.
    pending: Mutex<Option<Pending>>,
    /// The listener and state shared with its connections.
    generation: Generation<Mux>,
}

impl GrpcServer {
    /// `running`, `failed`, `closed` or `nil` (not started yet).
    pub fn state(&self) -> &'static str {
        self.generation.state()
    }
}

impl Object for GrpcServer {
    fn start(&self, prev: Option<&dyn Object>) {
        let Some(p) = self.pending.lock().take() else {
            return;
        };
        let prev = prev
            .and_then(|p| p.as_any().downcast_ref::<GrpcServer>())
            .map(|p| &p.generation);
        let stats = Generation::stats_after(prev);
        let c = p.checked;
        let mux = Mux::new(&p.name, c.parts, &c.spec, &p.sup, stats.clone());
        // Easegress has no Prometheus series for gRPC servers: the gauge only feeds the
        // status.
        self.generation
            .start(mux, c.listener, c.max_conns, stats, prev, || {
                Arc::new(Cell::default())
            });
    }

    fn status(&self) -> Value {
        self.generation.status()
    }

    fn close(&self) {
        self.generation.close();
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }
}
