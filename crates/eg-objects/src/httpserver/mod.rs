//! The `HTTPServer` kind: listeners, routing rules and the request lifecycle.
//!
//! A server listens on a port (TLS optional), matches each request against its rules
//! (host → path → method → headers → queries → IP filter) and hands it to the matched
//! pipeline, wrapped in the server's global filter when it has one. Failures answer as
//! Easegress does: 403 (IP), 400 (header/query), 405 (method), 404 (nothing), 503 (no such
//! pipeline, or no response), 413 (body over `clientMaxBodySize`).
//!
//! Rule changes swap the compiled routing table in place; listener changes (port,
//! address, TLS, keep-alive) restart the listener, draining the old connections.

mod accesslog;
mod backend;
mod cache;
mod listener;
mod metrics;
mod mux;
mod realip;
mod router;
pub mod spec;
mod stats;
mod tls;

#[cfg(test)]
mod tests;

use std::any::Any;
use std::sync::Arc;

use eg_spec::SpecError;
use eg_supervisor::{Category, Object, ObjectKind, Spec, Supervisor};
use parking_lot::Mutex;
use serde_json::{json, Value};

pub use accesslog::{reopen_access_logs, ACCESS_LOG_FILE};
use listener::{Listener, ListenerConfig, Shared, State};
use mux::{Mux, SharedStats};
pub use spec::{generated_pipeline_name, HttpServerSpec};

/// The kind name.
pub const KIND: &str = "HTTPServer";

/// The `HTTPServer` object kind (category `TrafficGate`; egctl `httpserver`, `httpservers`,
/// `hs`).
#[derive(Debug, Default, Clone, Copy)]
pub struct HttpServerKind;

impl HttpServerKind {
    /// The kind, for registering in the server's registry.
    pub fn new() -> HttpServerKind {
        HttpServerKind
    }
}

/// A spec that passed every check, with what creating it needs.
struct Checked {
    spec: HttpServerSpec,
    warnings: Vec<String>,
    listener: ListenerConfig,
}

fn check(doc: &Spec) -> Result<Checked, SpecError> {
    let decoded = spec::decode_spec(&doc.doc)?;
    let s = decoded.spec;
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
    mux::validate(doc.name(), &s)?;
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
    };
    Ok(Checked {
        spec: s,
        warnings: decoded.unknown,
        listener,
    })
}

impl ObjectKind for HttpServerKind {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn category(&self) -> Category {
        Category::TrafficGate
    }

    fn name(&self) -> String {
        "httpserver".to_string()
    }

    fn aliases(&self) -> Vec<String> {
        vec!["httpservers".to_string(), "hs".to_string()]
    }

    fn default_spec(&self) -> Value {
        json!({
            "https": false,
            "keepAlive": true,
            "keepAliveTimeout": "60s",
            "maxConnections": spec::DEFAULT_MAX_CONNECTIONS,
        })
    }

    fn owned_objects(&self, spec: &Spec) -> Vec<Value> {
        generated_pipelines(&spec.doc)
    }

    fn validate(&self, spec: &Spec, _sup: &Supervisor) -> Result<Vec<String>, SpecError> {
        check(spec).map(|c| {
            c.warnings
                .into_iter()
                .map(|k| format!("{k}: unknown field, ignored"))
                .collect()
        })
    }

    fn create(
        &self,
        spec: &Spec,
        sup: &Supervisor,
        prev: Option<Arc<dyn Object>>,
    ) -> Result<Arc<dyn Object>, SpecError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(SpecError::doc(
                "an HTTPServer can only be created inside the server's runtime",
            ));
        }
        let checked = check(spec)?;
        let name = spec.name();
        let prev = prev.and_then(|p| p.into_any().downcast::<HttpServer>().ok());
        let stats = prev
            .as_ref()
            .map(|p| p.shared.stats.clone())
            .unwrap_or_else(|| Arc::new(SharedStats::new()));
        let mux = Mux::build(name, &checked.spec, sup, stats.clone())?;
        let max_conns = checked
            .spec
            .max_connections
            .unwrap_or(spec::DEFAULT_MAX_CONNECTIONS) as usize;

        listener::check_connection_limit(name, max_conns);

        // Everything compiled: from here on the previous generation may be touched.
        if let Some(prev) = prev {
            let mut prev_listener = prev.listener.lock();
            if let Some(l) = prev_listener.as_ref() {
                if l.config.same_listener(&checked.listener) {
                    prev.shared.mux.store(Arc::new(mux));
                    prev.shared.set_max_connections(max_conns);
                    let listener = prev_listener.take();
                    return Ok(Arc::new(HttpServer {
                        shared: prev.shared.clone(),
                        listener: Mutex::new(listener),
                    }));
                }
            }
            // The listener changes: the new one stops the old one and takes over its
            // socket (or binds once it is released); the old connections drain meanwhile.
            let old = prev_listener.take();
            drop(prev_listener);
            let shared = Arc::new(Shared::new(
                name,
                mux,
                max_conns,
                prev.shared.health(),
                stats,
            ));
            let listener = Listener::start(shared.clone(), checked.listener, old.as_ref());
            return Ok(Arc::new(HttpServer {
                shared,
                listener: Mutex::new(Some(listener)),
            }));
        }
        let health = metrics::health(sup, &metrics::ServerLabels::new(sup, name));
        let shared = Arc::new(Shared::new(name, mux, max_conns, health, stats));
        let listener = Listener::start(shared.clone(), checked.listener, None);
        Ok(Arc::new(HttpServer {
            shared,
            listener: Mutex::new(Some(listener)),
        }))
    }
}

/// A running HTTPServer generation.
pub struct HttpServer {
    shared: Arc<Shared>,
    listener: Mutex<Option<Listener>>,
}

impl HttpServer {
    /// `running`, `failed`, `closed` or `nil` (not started yet).
    pub fn state(&self) -> &'static str {
        match self.shared.state() {
            State::Nil => "nil",
            State::Running => "running",
            State::Failed => "failed",
            State::Closed => "closed",
        }
    }
}

impl Object for HttpServer {
    fn status(&self) -> Value {
        self.shared.status()
    }

    fn close(&self) {
        if let Some(l) = self.listener.lock().take() {
            l.stop();
        }
        self.shared.close();
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }
}

/// The Pipeline specs an HTTPServer spec generates: one per path with a `backendPool`,
/// named `GENERATED-<server>-<ruleIdx>-<pathIdx>`, labelled `easegress/owner: <server>`,
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
                "labels": { eg_spec::OWNER_LABEL: name },
                "flow": [{"filter": "proxy"}],
                "filters": [{"name": "proxy", "kind": "Proxy", "pools": [pool]}],
            }));
        }
    }
    out
}
