//! The `HTTPServer` kind: listeners, routing rules and the request lifecycle.
//!
//! A server listens on a port (TLS optional), matches each request against its rules
//! (host → path → method → headers → queries → IP filter) and hands it to the matched
//! pipeline, wrapped in the server's global filter when it has one. Failures answer as
//! Easegress does: 403 (IP), 400 (header/query), 405 (method), 404 (nothing), 503 (no such
//! pipeline, or no response), 413 (body over `clientMaxBodySize`).
//!
//! Generations hand over in [`Object::start`]: when the listener settings (port, address,
//! TLS, keep-alive) are unchanged, the new generation takes over the running listener and
//! the state it shares with its connections, and swaps its compiled routing table in — the
//! connections stay open. Otherwise it starts a new listener that takes over the old one's
//! socket (same address and port) or binds once the old one let go, while the old
//! connections drain. Statistics and the health gauge carry over either way. The replaced
//! generation's [`Object::close`] then releases only what it still holds.

mod accesslog;
mod metrics;
mod mux;
pub(crate) mod router;
mod setheaders;
pub mod spec;
mod tls;

#[cfg(test)]
mod tests;

use std::any::Any;
use std::sync::Arc;

use eg_spec::SpecError;
use eg_supervisor::{Category, KindInfo, Object, ObjectKind, Spec, Supervisor};
use parking_lot::Mutex;
use serde_json::{json, Value};

use crate::gate::generation::Generation;
use crate::gate::listener::{self, ListenerConfig};
pub use accesslog::{
    flush_access_logs, reopen_access_logs, set_access_log_rotation, Rotation, ACCESS_LOG_FILE,
    FLUSH_INTERVAL, JSON_FORMAT,
};
use mux::Mux;
pub use spec::{generated_pipeline_name, HttpServerSpec};

/// The kind name.
pub const KIND: &str = "HTTPServer";

/// The `HTTPServer` kind's description (category `TrafficGate`; egctl `httpserver`,
/// `httpservers`, `hs`).
pub const INFO: KindInfo = KindInfo {
    kind: KIND,
    category: Category::TrafficGate,
    name: "httpserver",
    aliases: &["httpservers", "hs"],
    default_spec: || {
        json!({
            "https": false,
            "keepAlive": true,
            "keepAliveTimeout": "60s",
            "maxConnections": spec::DEFAULT_MAX_CONNECTIONS,
        })
    },
    schema: eg_spec::spec_schema::<HttpServerSpec>,
};

/// The `HTTPServer` object kind.
#[derive(Debug, Default, Clone, Copy)]
pub struct HttpServerKind;

impl HttpServerKind {
    /// The kind, for registering in the server's registry.
    pub fn new() -> HttpServerKind {
        HttpServerKind
    }
}

/// A spec that passed every check, with what starting it needs.
struct Checked {
    spec: HttpServerSpec,
    warnings: Vec<String>,
    parts: mux::Parts,
    listener: ListenerConfig,
}

fn check(doc: &Spec) -> Result<Checked, SpecError> {
    let (s, warnings) = spec::decode_spec(&doc.doc)?.into_parts();
    let port = match s.port {
        None => return Err(SpecError::new("port", "port is required")),
        Some(p) if (1..=65535).contains(&p) => p as u16,
        Some(p) => return Err(SpecError::new("port", format!("must be 1..65535, got {p}"))),
    };
    if s.http3 {
        return Err(SpecError::new(
            "http3",
            "HTTP/3 is not supported; use https for HTTP/1.1 and HTTP/2",
        ));
    }
    if s.auto_cert {
        return Err(SpecError::new(
            "autoCert",
            "certificates from an AutoCertManager are not supported; set certBase64/keyBase64 or certs/keys",
        ));
    }
    if s.max_connections == Some(0) {
        return Err(SpecError::new("maxConnections", "must be at least 1"));
    }
    let tls = tls::server_config(&s)?;
    let parts = mux::compile_parts(doc.name(), &s)?;
    let keep_alive_timeout = match s.keep_alive_timeout {
        None => Some(spec::DEFAULT_KEEP_ALIVE_TIMEOUT),
        Some(d) if d.get().is_zero() => None,
        Some(d) => Some(d.get()),
    };
    let listener = ListenerConfig {
        address: s.address.clone(),
        port,
        tls_source: if s.https {
            let mut v = vec![
                s.cert_base64.clone(),
                s.key_base64.clone(),
                s.ca_cert_base64.clone(),
            ];
            for (k, c) in &s.certs {
                v.push(k.clone());
                v.push(c.clone());
                v.push(s.keys.get(k).cloned().unwrap_or_default());
            }
            v
        } else {
            Vec::new()
        },
        tls,
        keep_alive: s.keep_alive,
        keep_alive_timeout,
        h2c: None,
    };
    Ok(Checked {
        spec: s,
        warnings,
        parts,
        listener,
    })
}

impl ObjectKind for HttpServerKind {
    fn info(&self) -> &'static KindInfo {
        &INFO
    }

    fn owned_objects(&self, spec: &Spec) -> Vec<Value> {
        generated_pipelines(&spec.doc)
    }

    fn validate(&self, spec: &Spec, _sup: &Supervisor) -> Result<Vec<String>, SpecError> {
        check(spec).map(|c| c.warnings)
    }

    fn build(&self, spec: &Spec, sup: &Supervisor) -> Result<Arc<dyn Object>, SpecError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(SpecError::doc(
                "an HTTPServer can only be created inside the server's runtime",
            ));
        }
        let checked = check(spec)?;
        let max_conns = checked
            .spec
            .max_connections
            .unwrap_or(spec::DEFAULT_MAX_CONNECTIONS) as usize;
        listener::check_connection_limit(spec.name(), max_conns);
        Ok(Arc::new(HttpServer {
            pending: Mutex::new(Some(Pending {
                name: spec.name().to_string(),
                sup: sup.clone(),
                spec: checked.spec,
                parts: checked.parts,
                listener: checked.listener,
                max_conns,
            })),
            generation: Generation::new(spec.name()),
        }))
    }
}

/// What a built generation starts with.
struct Pending {
    name: String,
    sup: Supervisor,
    spec: HttpServerSpec,
    parts: mux::Parts,
    listener: ListenerConfig,
    max_conns: usize,
}

/// An HTTPServer generation.
pub struct HttpServer {
    /// What `build` prepared, taken by `start`.
    pending: Mutex<Option<Pending>>,
    /// The listener and state shared with its connections.
    generation: Generation<Mux>,
}

impl HttpServer {
    /// `running`, `failed`, `closed` or `nil` (not started yet).
    pub fn state(&self) -> &'static str {
        self.generation.state()
    }

    /// Starts with `pending`, taking over from `prev`.
    fn start_with(&self, p: Pending, prev: Option<&HttpServer>) {
        let prev = prev.map(|p| &p.generation);
        let stats = Generation::stats_after(prev);
        let name = p.name.clone();
        let prev_mux = prev.and_then(|g| g.current());
        let mux = Mux::new(
            &name,
            p.parts,
            &p.spec,
            &p.sup,
            stats.clone(),
            prev_mux.as_deref(),
        );
        let sup = p.sup.clone();
        self.generation
            .start(mux, p.listener, p.max_conns, stats, prev, || {
                metrics::health(&sup, &metrics::ServerLabels::new(&sup, &name))
            });
    }
}

impl Object for HttpServer {
    fn start(&self, prev: Option<&dyn Object>) {
        let Some(pending) = self.pending.lock().take() else {
            return;
        };
        self.start_with(
            pending,
            prev.and_then(|p| p.as_any().downcast_ref::<HttpServer>()),
        );
    }

    /// The gate's status; with tracing on, `tracing` adds the export queue's counters
    /// (`exportedSpans`, `droppedSpans`, `failedExports`).
    fn status(&self) -> Value {
        let mut s = self.generation.status();
        let tracer = self.generation.current().and_then(|m| m.tracer().cloned());
        if let (Some(t), Some(obj)) = (tracer, s.as_object_mut()) {
            obj.insert("tracing".into(), t.status());
        }
        s
    }

    /// Stops the listener if this generation still holds it, and marks the server closed
    /// (health 0) unless a successor took over serving it: a replaced generation whose
    /// listener and shared state live on in its successor leaves them alone.
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

/// The Pipeline specs an HTTPServer spec generates: one per path with a `backendPool`,
/// named `GENERATED-<server>-<ruleIdx>-<pathIdx>`, labelled
/// `easegress/owner: HTTPServer:<server>` (Easegress's `Spec.AsOwner()`),
/// with a single `Proxy` filter called `proxy` using that pool. Paths with a
/// `backendPool` and no `backend` route to the generated pipeline.
pub fn generated_pipelines(server_spec: &Value) -> Vec<Value> {
    let name = server_spec
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("");
    let Some(rules) = server_spec.get("rules").and_then(Value::as_array) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (ri, rule) in rules.iter().enumerate() {
        let Some(paths) = rule.get("paths").and_then(Value::as_array) else {
            continue;
        };
        for (pi, path) in paths.iter().enumerate() {
            let Some(pool) = path.get("backendPool").filter(|p| !p.is_null()) else {
                continue;
            };
            out.push(json!({
                "name": generated_pipeline_name(name, ri, pi),
                "kind": "Pipeline",
                "labels": { eg_spec::OWNER_LABEL: eg_spec::owner_of(KIND, name) },
                "flow": [{"filter": "proxy"}],
                "filters": [{"name": "proxy", "kind": "Proxy", "pools": [pool]}],
            }));
        }
    }
    out
}
