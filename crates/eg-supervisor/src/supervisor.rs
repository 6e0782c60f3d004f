//! The supervisor: reconciles the stored specs into running objects.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwap;
use eg_store::{keys, Store, WatchEvent};
use parking_lot::Mutex;
use serde_json::{json, Value};
use tokio::task::JoinHandle;

use crate::metrics::MetricsRegistry;
use crate::object::{Running, Spec};
use crate::registry::KindRegistry;

/// Who this process is in the cluster, and where it keeps its files.
#[derive(Debug, Clone)]
pub struct MemberInfo {
    /// Member name (`--name`).
    pub name: String,
    /// Cluster name (`--cluster-name`).
    pub cluster_name: String,
    /// `primary` or `secondary`.
    pub cluster_role: String,
    /// Home directory (`--home-dir`).
    pub home_dir: PathBuf,
    /// Data directory (`--data-dir`).
    pub data_dir: PathBuf,
    /// Log directory (`--log-dir`); `None` logs to stdout.
    pub log_dir: Option<PathBuf>,
    /// The server options as Easegress reports them under `/status/members` (Go field names).
    pub options: Value,
}

impl MemberInfo {
    /// A member for tests and embedded use.
    pub fn standalone(name: &str) -> MemberInfo {
        MemberInfo {
            name: name.to_string(),
            cluster_name: "eg-cluster-default-name".to_string(),
            cluster_role: "primary".to_string(),
            home_dir: PathBuf::from("."),
            data_dir: PathBuf::from("data"),
            log_dir: None,
            options: json!({"Name": name}),
        }
    }
}

struct Inner {
    kinds: KindRegistry,
    store: Arc<dyn Store>,
    member: MemberInfo,
    running: ArcSwap<HashMap<String, Running>>,
    /// Bumped whenever an object is created, replaced or removed.
    generation: AtomicU64,
    /// The last build error of each object whose newest spec did not build.
    build_errors: Mutex<HashMap<String, String>>,
    metrics: MetricsRegistry,
    started_at: chrono::DateTime<chrono::Utc>,
}

/// The shared handle to the running system: kinds, store, running objects, metrics.
///
/// Cheap to clone. Kinds receive it when they validate and build objects, so that an object
/// can find others (an HTTPServer its pipelines) and register metrics.
#[derive(Clone)]
pub struct Supervisor {
    inner: Arc<Inner>,
}

impl Supervisor {
    /// A supervisor over `store` running objects of the `kinds` it knows.
    pub fn new(kinds: KindRegistry, store: Arc<dyn Store>, member: MemberInfo) -> Supervisor {
        Supervisor {
            inner: Arc::new(Inner {
                kinds,
                store,
                member,
                running: ArcSwap::from_pointee(HashMap::new()),
                generation: AtomicU64::new(0),
                build_errors: Mutex::new(HashMap::new()),
                metrics: MetricsRegistry::default(),
                started_at: chrono::Utc::now(),
            }),
        }
    }

    /// The registered kinds.
    pub fn kinds(&self) -> &KindRegistry {
        &self.inner.kinds
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    /// This member.
    pub fn member(&self) -> &MemberInfo {
        &self.inner.member
    }

    /// When this process started.
    pub fn started_at(&self) -> chrono::DateTime<chrono::Utc> {
        self.inner.started_at
    }

    /// The Prometheus registry served at `/apis/v2/metrics`.
    pub fn metrics(&self) -> &MetricsRegistry {
        &self.inner.metrics
    }

    /// The running object called `name`.
    pub fn get(&self, name: &str) -> Option<Running> {
        self.inner.running.load().get(name).cloned()
    }

    /// A snapshot of all running objects.
    pub fn running(&self) -> Arc<HashMap<String, Running>> {
        self.inner.running.load_full()
    }

    /// A counter bumped by every change of the running set; a cache of looked-up objects is
    /// valid while this stays the same.
    pub fn generation(&self) -> u64 {
        self.inner.generation.load(Ordering::Acquire)
    }

    /// Loads every stored object (in category order), then follows the store's changes until
    /// the store goes away. Returns once the initial objects are running.
    pub fn start(&self) -> JoinHandle<()> {
        let mut events = self.inner.store.watch(keys::OBJECTS_PREFIX);
        match self.inner.store.range(keys::OBJECTS_PREFIX) {
            Ok(pairs) => {
                let mut specs: Vec<Spec> = pairs
                    .into_iter()
                    .filter_map(|(key, value)| match parse_stored(&value) {
                        Ok(spec) => Some(spec),
                        Err(e) => {
                            tracing::error!(%key, error = %e, "stored spec is unreadable; skipped");
                            None
                        }
                    })
                    .collect();
                let kinds = &self.inner.kinds;
                specs.sort_by_key(|s| kinds.category(s.kind()));
                for spec in specs {
                    self.apply_spec(spec);
                }
            }
            Err(e) => tracing::error!(error = %e, "cannot read stored objects"),
        }
        let sup = self.clone();
        tokio::spawn(async move {
            while let Some(ev) = events.recv().await {
                sup.apply_event(ev);
            }
        })
    }

    /// Applies one store change to the running set.
    pub fn apply_event(&self, ev: WatchEvent) {
        match ev {
            WatchEvent::Put { key, value, .. } => match parse_stored(&value) {
                Ok(spec) => self.apply_spec(spec),
                Err(e) => tracing::error!(%key, error = %e, "stored spec is unreadable; ignored"),
            },
            WatchEvent::Delete { key, .. } => {
                if let Some(name) = key.strip_prefix(keys::OBJECTS_PREFIX) {
                    self.remove(name);
                }
            }
        }
    }

    /// Builds (or rebuilds) the object of `spec`. On failure the previous generation keeps
    /// running and the error is reported in its status.
    pub fn apply_spec(&self, spec: Spec) {
        let name = spec.name().to_string();
        let Some(kind) = self.inner.kinds.get(spec.kind()).cloned() else {
            tracing::error!(%name, kind = %spec.kind(), "unknown kind; object not created");
            self.inner
                .build_errors
                .lock()
                .insert(name, format!("unknown kind {}", spec.kind()));
            return;
        };
        let prev = self.get(&name);
        if let Some(p) = &prev {
            if *p.spec == spec {
                return;
            }
        }
        let (prev_obj, kind_changed) = match &prev {
            Some(p) if p.kind.kind() == kind.kind() => (Some(p.object.clone()), false),
            Some(_) => (None, true),
            None => (None, false),
        };
        if kind_changed {
            self.remove(&name);
        }
        match kind.create(&spec, self, prev_obj) {
            Ok(object) => {
                let running = Running {
                    spec: Arc::new(spec),
                    object,
                    kind,
                };
                self.inner.running.rcu(|m| {
                    let mut m = HashMap::clone(m);
                    m.insert(name.clone(), running.clone());
                    m
                });
                self.inner.build_errors.lock().remove(&name);
                self.inner.generation.fetch_add(1, Ordering::AcqRel);
                tracing::info!(%name, kind = %running.kind.kind(), "object running");
            }
            Err(e) => {
                tracing::error!(%name, error = %e, "spec did not build; previous generation kept");
                self.inner.build_errors.lock().insert(name, e.to_string());
            }
        }
    }

    /// Closes and forgets the object called `name`.
    pub fn remove(&self, name: &str) {
        let mut removed = None;
        self.inner.running.rcu(|m| {
            let mut m = HashMap::clone(m);
            removed = m.remove(name);
            m
        });
        self.inner.build_errors.lock().remove(name);
        if let Some(r) = removed {
            self.inner.generation.fetch_add(1, Ordering::AcqRel);
            r.object.close();
            tracing::info!(%name, "object closed");
        }
    }

    /// Closes every object, traffic gates first.
    pub fn shutdown(&self) {
        let mut all: Vec<Running> = self.running().values().cloned().collect();
        all.sort_by_key(|r| std::cmp::Reverse(r.kind.category()));
        for r in all {
            self.remove(r.spec.name());
        }
    }

    /// Status key of an object, as Easegress lays it out: `<ns>/<name>/<member>` with
    /// `eg-traffic-default` for traffic objects and `default` for controllers.
    pub fn status_key(&self, running: &Running) -> String {
        let ns = if running.kind.category().is_traffic() {
            "eg-traffic-default"
        } else {
            "default"
        };
        format!("{ns}/{}/{}", running.spec.name(), self.inner.member.name)
    }

    /// The status of `running`, with the last build error and a timestamp added.
    pub fn status_of(&self, running: &Running) -> Value {
        let mut status = running.object.status();
        if !status.is_object() {
            status = json!({ "status": status });
        }
        if let Some(obj) = status.as_object_mut() {
            if let Some(err) = self.inner.build_errors.lock().get(running.spec.name()) {
                obj.insert("buildError".into(), Value::String(err.clone()));
            }
            obj.entry("timestamp")
                .or_insert_with(|| json!(chrono::Utc::now().timestamp()));
        }
        status
    }

    /// Statuses of all running objects (or of one), keyed as [`Supervisor::status_key`].
    pub fn statuses(&self, only: Option<&str>) -> BTreeMap<String, Value> {
        let running = self.running();
        running
            .values()
            .filter(|r| only.is_none_or(|n| r.spec.name() == n))
            .map(|r| (self.status_key(r), self.status_of(r)))
            .collect()
    }
}

/// Decodes a stored spec (JSON).
pub fn parse_stored(value: &[u8]) -> Result<Spec, eg_spec::SpecError> {
    let doc: Value = serde_json::from_slice(value)
        .map_err(|e| eg_spec::SpecError::doc(format!("stored spec is not JSON: {e}")))?;
    Spec::from_doc(doc)
}
