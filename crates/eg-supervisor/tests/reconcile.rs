//! The supervisor against a store: creation order, inheritance, failed updates, deletes.

use std::any::Any;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use eg_spec::SpecError;
use eg_store::{keys, MemStore, Store};
use eg_supervisor::{Category, KindRegistry, MemberInfo, Object, ObjectKind, Spec, Supervisor};
use parking_lot::Mutex;
use serde_json::{json, Value};

/// A test kind that records the order of creations and what each generation inherited.
struct TestKind {
    kind: &'static str,
    category: Category,
    log: Arc<Mutex<Vec<String>>>,
}

struct TestObject {
    name: String,
    generation: usize,
    /// The `value` field of the spec this generation was built from.
    value: Value,
    closed: Arc<AtomicUsize>,
}

impl Object for TestObject {
    fn status(&self) -> Value {
        json!({"generation": self.generation, "value": self.value})
    }
    fn close(&self) {
        self.closed.fetch_add(1, Ordering::SeqCst);
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }
}

impl ObjectKind for TestKind {
    fn kind(&self) -> &'static str {
        self.kind
    }
    fn category(&self) -> Category {
        self.category
    }
    fn validate(&self, spec: &Spec, _: &Supervisor) -> Result<Vec<String>, SpecError> {
        match spec.doc.get("value") {
            Some(Value::String(s)) if s == "bad" => Err(SpecError::new("value", "must not be bad")),
            _ => Ok(Vec::new()),
        }
    }
    fn create(
        &self,
        spec: &Spec,
        sup: &Supervisor,
        prev: Option<Arc<dyn Object>>,
    ) -> Result<Arc<dyn Object>, SpecError> {
        self.validate(spec, sup)?;
        let (generation, closed) = match prev
            .as_ref()
            .and_then(|p| p.as_any().downcast_ref::<TestObject>())
        {
            Some(p) => (p.generation + 1, p.closed.clone()),
            None => (1, Arc::new(AtomicUsize::new(0))),
        };
        self.log
            .lock()
            .push(format!("{}:{}", spec.name(), generation));
        Ok(Arc::new(TestObject {
            name: spec.name().to_string(),
            generation,
            value: spec.doc.get("value").cloned().unwrap_or(Value::Null),
            closed,
        }))
    }
}

fn setup() -> (Supervisor, Arc<MemStore>, Arc<Mutex<Vec<String>>>) {
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut kinds = KindRegistry::new();
    for (kind, category) in [
        ("Gate", Category::TrafficGate),
        ("Flow", Category::Pipeline),
        ("Ctl", Category::BusinessController),
    ] {
        kinds.register(Arc::new(TestKind {
            kind,
            category,
            log: log.clone(),
        }));
    }
    let store = Arc::new(MemStore::new());
    let sup = Supervisor::new(kinds, store.clone(), MemberInfo::standalone("m1"));
    (sup, store, log)
}

fn put(store: &MemStore, name: &str, kind: &str, value: &str) {
    let doc = json!({"name": name, "kind": kind, "value": value});
    store
        .put(&keys::object(name), serde_json::to_vec(&doc).unwrap())
        .unwrap();
}

fn generation(sup: &Supervisor, name: &str) -> Option<u64> {
    sup.get(name)
        .map(|r| r.object.status()["generation"].as_u64().unwrap())
}

#[tokio::test]
async fn start_creates_in_category_order() {
    let (sup, store, log) = setup();
    put(&store, "a-gate", "Gate", "x");
    put(&store, "b-flow", "Flow", "x");
    put(&store, "c-ctl", "Ctl", "x");
    let task = sup.start();
    assert_eq!(*log.lock(), vec!["c-ctl:1", "b-flow:1", "a-gate:1"]);
    task.abort();
}

#[tokio::test]
async fn update_inherits_and_failed_update_keeps_the_running_generation() {
    let (sup, store, _) = setup();
    let _task = sup.start();
    let mut events = store.watch(keys::OBJECTS_PREFIX);
    put(&store, "flow", "Flow", "v1");
    sup.apply_event(events.recv().await.unwrap());
    assert_eq!(generation(&sup, "flow"), Some(1));

    put(&store, "flow", "Flow", "v2");
    sup.apply_event(events.recv().await.unwrap());
    assert_eq!(
        generation(&sup, "flow"),
        Some(2),
        "the update inherited from generation 1"
    );

    put(&store, "flow", "Flow", "bad");
    sup.apply_event(events.recv().await.unwrap());
    let running = sup.get("flow").unwrap();
    assert_eq!(
        running.object.status()["value"],
        "v2",
        "the failed spec did not replace v2"
    );
    let status = sup.status_of(&running);
    assert!(
        status["buildError"]
            .as_str()
            .unwrap()
            .contains("value: must not be bad"),
        "{status}"
    );

    let same = sup.generation();
    put(&store, "flow", "Flow", "v2");
    sup.apply_event(events.recv().await.unwrap());
    assert_eq!(
        sup.generation(),
        same,
        "re-applying the running spec changes nothing"
    );
}

#[tokio::test]
async fn delete_closes_and_statuses_use_easegress_keys() {
    let (sup, store, _) = setup();
    let mut events = store.watch(keys::OBJECTS_PREFIX);
    put(&store, "flow", "Flow", "v1");
    put(&store, "ctl", "Ctl", "v1");
    sup.apply_event(events.recv().await.unwrap());
    sup.apply_event(events.recv().await.unwrap());
    let keys: Vec<String> = sup.statuses(None).into_keys().collect();
    assert_eq!(keys, vec!["default/ctl/m1", "eg-traffic-default/flow/m1"]);

    let obj = sup.get("flow").unwrap().object;
    store.delete(&keys::object("flow")).unwrap();
    sup.apply_event(events.recv().await.unwrap());
    assert!(sup.get("flow").is_none());
    let closed = obj
        .as_any()
        .downcast_ref::<TestObject>()
        .unwrap()
        .closed
        .load(Ordering::SeqCst);
    assert_eq!(closed, 1);
    assert_eq!(
        obj.as_any().downcast_ref::<TestObject>().unwrap().name,
        "flow"
    );
}

#[tokio::test]
async fn unknown_kind_in_store_is_reported_not_run() {
    let (sup, store, _) = setup();
    put(&store, "ghost", "NoSuchKind", "x");
    let _task = sup.start();
    assert!(sup.get("ghost").is_none());
}
