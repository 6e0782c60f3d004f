//! The supervisor: reconciles the stored specs into running objects.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwap;
use eg_store::{keys, Store, WatchEvent};
use parking_lot::Mutex;
use serde_json::{json, Map, Value};
use tokio::task::JoinHandle;

use crate::category::Category;
use crate::member::MemberInfo;
use crate::metrics::MetricsRegistry;
use crate::registry::KindRegistry;
use crate::running::Running;
use crate::spec::{parse_stored, Spec};

struct Inner {
    kinds: KindRegistry,
    store: Arc<dyn Store>,
    member: MemberInfo,
    running: ArcSwap<HashMap<String, Running>>,
    /// Held while a change is applied, so that changes to the running set (and the start and
    /// close calls they make) happen one at a time.
    changing: Mutex<()>,
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
                changing: Mutex::new(()),
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
    ///
    /// First, each registered system controller that is not stored yet is stored with its
    /// defaults, named after its kind, as Easegress does at start
    /// (`initSystemControllers`): from then on it is an object like the others, listed and
    /// changeable (not creatable or deletable) through the API.
    pub fn start(&self) -> JoinHandle<()> {
        let mut events = self.inner.store.watch(keys::OBJECTS_PREFIX);
        self.store_system_controllers();
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
                // Parsing a stored spec and building a generation can take long for a large
                // spec: on the blocking pool it never stalls the threads serving requests.
                // Events are still applied one at a time, in order.
                let s = sup.clone();
                if let Err(e) = tokio::task::spawn_blocking(move || s.apply_event(ev)).await {
                    tracing::error!(error = %e, "applying a configuration change failed");
                }
            }
        })
    }

    /// Stores the spec of every system controller kind that has none stored yet.
    fn store_system_controllers(&self) {
        for kind in self.inner.kinds.iter() {
            let info = kind.info();
            if info.category != Category::SystemController {
                continue;
            }
            let key = keys::object(info.kind);
            match self.inner.store.get(&key) {
                Ok(Some(_)) => continue,
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(kind = info.kind, error = %e, "cannot read a system controller");
                    continue;
                }
            }
            let mut doc = match (info.default_spec)() {
                Value::Object(m) => m,
                _ => Map::new(),
            };
            let meta = eg_spec::Meta {
                name: info.kind.to_string(),
                kind: info.kind.to_string(),
                version: eg_spec::DEFAULT_VERSION.to_string(),
                labels: Default::default(),
                created_at: None,
            };
            meta.write_into(&mut doc);
            let bytes = match serde_json::to_vec(&Value::Object(doc)) {
                Ok(b) => b,
                Err(e) => {
                    tracing::error!(kind = info.kind, error = %e, "cannot encode a system controller");
                    continue;
                }
            };
            match self
                .inner
                .store
                .apply(vec![eg_store::Op::Put(key.clone(), bytes)], Some(&key))
            {
                // Another member stored it first: theirs is as good.
                Ok(_) | Err(eg_store::StoreError::Conflict(_)) => {}
                Err(e) => {
                    tracing::warn!(kind = info.kind, error = %e, "cannot store a system controller")
                }
            }
        }
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

    /// Applies `spec`: builds the next generation of its object, starts it with the running
    /// generation as `prev`, publishes it, then closes `prev` (see [`crate::Object`]).
    ///
    /// A spec that does not build changes nothing: the running generation keeps running and
    /// the error is reported in its status. A spec of another kind than the running object's
    /// deletes that object (closing it) and creates the new one without `prev`.
    pub fn apply_spec(&self, spec: Spec) {
        let _changing = self.inner.changing.lock();
        let name = spec.name().to_string();
        let Some(kind) = self.inner.kinds.get(spec.kind()).cloned() else {
            tracing::error!(%name, kind = %spec.kind(), "unknown kind; object not created");
            self.inner
                .build_errors
                .lock()
                .insert(name, format!("unknown kind {}", spec.kind()));
            return;
        };
        let mut prev = self.get(&name);
        if prev.as_ref().is_some_and(|p| *p.spec == spec) {
            return;
        }
        let object = match kind.build(&spec, self) {
            Ok(object) => object,
            Err(e) => {
                tracing::error!(%name, error = %e, "spec did not build; previous generation kept");
                self.inner.build_errors.lock().insert(name, e.to_string());
                return;
            }
        };
        if prev
            .as_ref()
            .is_some_and(|p| p.kind.info().kind != kind.info().kind)
        {
            self.remove_locked(&name);
            prev = None;
        }
        object.start(prev.as_ref().map(|p| &*p.object));
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
        tracing::info!(%name, kind = %running.kind.info().kind, "object running");
        if let Some(p) = prev {
            p.object.close();
        }
    }

    /// Closes and forgets the object called `name`.
    pub fn remove(&self, name: &str) {
        let _changing = self.inner.changing.lock();
        self.remove_locked(name);
    }

    fn remove_locked(&self, name: &str) {
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

    /// Closes the traffic gates only: they stop accepting and drain their connections,
    /// while the pipelines they route to keep running for the requests still coming in on
    /// those connections. [`Supervisor::shutdown`] closes the rest afterwards.
    pub fn close_gates(&self) {
        let gates: Vec<String> = self
            .running()
            .values()
            .filter(|r| r.kind.info().category == Category::TrafficGate)
            .map(|r| r.spec.name().to_string())
            .collect();
        for name in gates {
            self.remove(&name);
        }
    }

    /// Closes every object, traffic gates first.
    pub fn shutdown(&self) {
        let mut all: Vec<Running> = self.running().values().cloned().collect();
        all.sort_by_key(|r| std::cmp::Reverse(r.kind.info().category));
        for r in all {
            self.remove(r.spec.name());
        }
    }

    /// Status key of an object, as Easegress lays it out: `<ns>/<name>/<member>` with
    /// `eg-traffic-default` for traffic objects and `default` for controllers.
    pub fn status_key(&self, running: &Running) -> String {
        let ns = if running.kind.info().category.is_traffic() {
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
