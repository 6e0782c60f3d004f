//! The supervisor against a store: creation order, the generation contract (build, start
//! with the replaced generation, publish, close the replaced one), failed updates, deletes.

use std::any::Any;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use eg_spec::SpecError;
use eg_store::{keys, MemStore, Store};
use eg_supervisor::{
    no_defaults, object_schema, Category, KindInfo, KindRegistry, MemberInfo, Object, ObjectKind,
    Spec, Supervisor,
};
use parking_lot::Mutex;
use serde_json::{json, Value};

type Log = Arc<Mutex<Vec<String>>>;

/// A test kind that logs every step of every generation: `build flow#2`,
/// `start flow#2 prev=#1 published=#1`, `close flow#1`.
struct TestKind {
    info: &'static KindInfo,
    log: Log,
}

const GATE: KindInfo = KindInfo {
    kind: "Gate",
    category: Category::TrafficGate,
    name: "gate",
    aliases: &["gates"],
    default_spec: no_defaults,
    schema: object_schema,
};
const FLOW: KindInfo = KindInfo {
    kind: "Flow",
    category: Category::Pipeline,
    name: "flow",
    aliases: &["flows"],
    default_spec: no_defaults,
    schema: object_schema,
};
const CTL: KindInfo = KindInfo {
    kind: "Ctl",
    category: Category::BusinessController,
    name: "ctl",
    aliases: &["ctls"],
    default_spec: no_defaults,
    schema: object_schema,
};

/// Numbers generations across the whole test, so each name in the log is unique.
static NEXT_ID: AtomicUsize = AtomicUsize::new(1);

struct TestObject {
    name: String,
    id: usize,
    /// The `value` field of the spec this generation was built from.
    value: Value,
    /// How many generations of this object ran before, inherited in `start`.
    generation: AtomicUsize,
    closed: AtomicUsize,
    sup: Supervisor,
    log: Log,
}

impl Object for TestObject {
    fn start(&self, prev: Option<&dyn Object>) {
        let prev = prev.and_then(|p| p.as_any().downcast_ref::<TestObject>());
        let published = self
            .sup
            .get(&self.name)
            .and_then(|r| {
                r.object
                    .as_any()
                    .downcast_ref::<TestObject>()
                    .map(|o| format!("#{}", o.id))
            })
            .unwrap_or_else(|| "none".into());
        let prev_id = prev.map_or("none".into(), |p| format!("#{}", p.id));
        self.log.lock().push(format!(
            "start {}#{} prev={prev_id} published={published}",
            self.name, self.id
        ));
        let inherited = prev.map_or(0, |p| p.generation.load(Ordering::SeqCst));
        self.generation.store(inherited + 1, Ordering::SeqCst);
    }
    fn status(&self) -> Value {
        json!({
            "generation": self.generation.load(Ordering::SeqCst),
            "value": self.value,
            "id": self.id,
        })
    }
    fn close(&self) {
        self.closed.fetch_add(1, Ordering::SeqCst);
        self.log
            .lock()
            .push(format!("close {}#{}", self.name, self.id));
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }
}

impl ObjectKind for TestKind {
    fn info(&self) -> &'static KindInfo {
        self.info
    }
    fn validate(&self, spec: &Spec, _: &Supervisor) -> Result<Vec<String>, SpecError> {
        match spec.doc.get("value") {
            Some(Value::String(s)) if s == "bad" => Err(SpecError::new("value", "must not be bad")),
            _ => Ok(Vec::new()),
        }
    }
    fn build(&self, spec: &Spec, sup: &Supervisor) -> Result<Arc<dyn Object>, SpecError> {
        self.validate(spec, sup)?;
        let id = NEXT_ID.fetch_add(1, Ordering::SeqCst);
        self.log.lock().push(format!("build {}#{id}", spec.name()));
        Ok(Arc::new(TestObject {
            name: spec.name().to_string(),
            id,
            value: spec.doc.get("value").cloned().unwrap_or(Value::Null),
            generation: AtomicUsize::new(0),
            closed: AtomicUsize::new(0),
            sup: sup.clone(),
            log: self.log.clone(),
        }))
    }
}

fn setup() -> (Supervisor, Arc<MemStore>, Log) {
    let log: Log = Arc::new(Mutex::new(Vec::new()));
    let mut kinds = KindRegistry::new();
    for info in [&GATE, &FLOW, &CTL] {
        kinds.register(Arc::new(TestKind {
            info,
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

fn apply(sup: &Supervisor, name: &str, kind: &str, value: &str) {
    sup.apply_spec(Spec::from_doc(json!({"name": name, "kind": kind, "value": value})).unwrap());
}

fn object(sup: &Supervisor, name: &str) -> Arc<TestObject> {
    sup.get(name)
        .unwrap()
        .object
        .into_any()
        .downcast::<TestObject>()
        .unwrap()
}

fn generation(sup: &Supervisor, name: &str) -> Option<u64> {
    sup.get(name)
        .map(|r| r.object.status()["generation"].as_u64().unwrap())
}

/// The log with generation ids replaced by their order of appearance (`#1`, `#2`, ...), so
/// tests do not depend on the ids other tests used.
fn normalized(log: &Log) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    log.lock()
        .iter()
        .map(|line| {
            line.split(' ')
                .map(|word| {
                    let Some((head, id)) = word.rsplit_once('#') else {
                        return word.to_string();
                    };
                    let pos = match seen.iter().position(|s| s == id) {
                        Some(p) => p,
                        None => {
                            seen.push(id.to_string());
                            seen.len() - 1
                        }
                    };
                    format!("{head}#{}", pos + 1)
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

#[tokio::test]
async fn start_creates_in_category_order() {
    let (sup, store, log) = setup();
    put(&store, "a-gate", "Gate", "x");
    put(&store, "b-flow", "Flow", "x");
    put(&store, "c-ctl", "Ctl", "x");
    let task = sup.start();
    let started: Vec<String> = normalized(&log)
        .into_iter()
        .filter(|l| l.starts_with("start"))
        .collect();
    assert_eq!(
        started,
        vec![
            "start c-ctl#1 prev=none published=none",
            "start b-flow#2 prev=none published=none",
            "start a-gate#3 prev=none published=none",
        ]
    );
    task.abort();
}

#[tokio::test]
async fn an_update_builds_starts_with_prev_publishes_then_closes_prev_once() {
    let (sup, _, log) = setup();
    apply(&sup, "flow", "Flow", "v1");
    let first = object(&sup, "flow");
    apply(&sup, "flow", "Flow", "v2");
    let second = object(&sup, "flow");
    assert_eq!(
        normalized(&log),
        vec![
            "build flow#1",
            "start flow#1 prev=none published=none",
            "build flow#2",
            // The successor starts while the replaced generation is still the published one.
            "start flow#2 prev=#1 published=#1",
            "close flow#1",
        ]
    );
    assert_eq!(first.closed.load(Ordering::SeqCst), 1);
    assert_eq!(second.closed.load(Ordering::SeqCst), 0);
    assert_eq!(
        generation(&sup, "flow"),
        Some(2),
        "the update inherited from generation 1"
    );
}

#[tokio::test]
async fn a_failed_build_leaves_the_running_generation_alone() {
    let (sup, store, log) = setup();
    let _task = sup.start();
    let mut events = store.watch(keys::OBJECTS_PREFIX);
    put(&store, "flow", "Flow", "v1");
    sup.apply_event(events.recv().await.unwrap());
    put(&store, "flow", "Flow", "v2");
    sup.apply_event(events.recv().await.unwrap());
    let v2 = object(&sup, "flow");
    let before = log.lock().len();

    put(&store, "flow", "Flow", "bad");
    sup.apply_event(events.recv().await.unwrap());
    let running = sup.get("flow").unwrap();
    assert_eq!(
        running.object.status()["value"],
        "v2",
        "the failed spec did not replace v2"
    );
    assert_eq!(
        log.lock().len(),
        before,
        "nothing was built, started or closed"
    );
    assert_eq!(v2.closed.load(Ordering::SeqCst), 0);
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
    assert_eq!(log.lock().len(), before);
}

#[tokio::test]
async fn a_kind_change_deletes_then_creates() {
    let (sup, _, log) = setup();
    apply(&sup, "x", "Flow", "v1");
    let old = object(&sup, "x");
    apply(&sup, "x", "Ctl", "bad");
    assert_eq!(
        sup.get("x").unwrap().kind.info().kind,
        "Flow",
        "a spec of another kind that does not build deletes nothing"
    );
    assert_eq!(old.closed.load(Ordering::SeqCst), 0);
    apply(&sup, "x", "Ctl", "v1");
    assert_eq!(
        normalized(&log),
        vec![
            "build x#1",
            "start x#1 prev=none published=none",
            "build x#2",
            "close x#1",
            "start x#2 prev=none published=none",
        ]
    );
    assert_eq!(old.closed.load(Ordering::SeqCst), 1);
    assert_eq!(sup.get("x").unwrap().kind.info().kind, "Ctl");
    assert_eq!(generation(&sup, "x"), Some(1), "nothing inherited");
}

#[tokio::test]
async fn delete_closes_once_and_statuses_use_easegress_keys() {
    let (sup, store, _) = setup();
    let mut events = store.watch(keys::OBJECTS_PREFIX);
    put(&store, "flow", "Flow", "v1");
    put(&store, "ctl", "Ctl", "v1");
    sup.apply_event(events.recv().await.unwrap());
    sup.apply_event(events.recv().await.unwrap());
    let keys: Vec<String> = sup.statuses(None).into_keys().collect();
    assert_eq!(keys, vec!["default/ctl/m1", "eg-traffic-default/flow/m1"]);

    let obj = object(&sup, "flow");
    store.delete(&keys::object("flow")).unwrap();
    sup.apply_event(events.recv().await.unwrap());
    assert!(sup.get("flow").is_none());
    sup.remove("flow");
    assert_eq!(obj.closed.load(Ordering::SeqCst), 1);
    assert_eq!(obj.name, "flow");

    let ctl = object(&sup, "ctl");
    sup.shutdown();
    sup.shutdown();
    assert_eq!(ctl.closed.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn unknown_kind_in_store_is_reported_not_run() {
    let (sup, store, _) = setup();
    put(&store, "ghost", "NoSuchKind", "x");
    let _task = sup.start();
    assert!(sup.get("ghost").is_none());
}

#[test]
fn kinds_resolve_by_kind_name_resource_name_or_alias() {
    let (sup, _, _) = setup();
    let kinds = sup.kinds();
    for name in ["Gate", "gate", "GATES", "gates"] {
        assert_eq!(kinds.resolve(name).map(|k| k.info().kind), Some("Gate"));
    }
    assert!(kinds.resolve("gat").is_none());
    assert_eq!(kinds.category("Ctl"), Some(Category::BusinessController));
}

/// A user's controller kind written against the contract alone: its generations count
/// ticks in a background task, a new generation carries the count on, and a replaced
/// generation's task stops.
mod user_kind {
    use std::sync::atomic::AtomicU64;
    use std::time::Duration;

    use tokio::task::JoinHandle;

    use super::*;

    pub const TICKER: KindInfo = KindInfo {
        kind: "Ticker",
        category: Category::BusinessController,
        name: "ticker",
        aliases: &["tickers"],
        default_spec: || json!({"everyMs": 10}),
        schema: object_schema,
    };

    pub struct TickerKind;

    pub struct Ticker {
        every: Duration,
        ticks: Arc<AtomicU64>,
        task: Mutex<Option<JoinHandle<()>>>,
    }

    fn every(spec: &Spec) -> Result<Duration, SpecError> {
        match spec.doc.get("everyMs").and_then(Value::as_u64) {
            Some(ms) if ms > 0 => Ok(Duration::from_millis(ms)),
            _ => Err(SpecError::new("everyMs", "must be a positive integer")),
        }
    }

    impl ObjectKind for TickerKind {
        fn info(&self) -> &'static KindInfo {
            &TICKER
        }
        fn validate(&self, spec: &Spec, _: &Supervisor) -> Result<Vec<String>, SpecError> {
            every(spec).map(|_| Vec::new())
        }
        fn build(&self, spec: &Spec, _: &Supervisor) -> Result<Arc<dyn Object>, SpecError> {
            Ok(Arc::new(Ticker {
                every: every(spec)?,
                ticks: Arc::new(AtomicU64::new(0)),
                task: Mutex::new(None),
            }))
        }
    }

    impl Object for Ticker {
        fn start(&self, prev: Option<&dyn Object>) {
            if let Some(p) = prev.and_then(|p| p.as_any().downcast_ref::<Ticker>()) {
                self.ticks
                    .store(p.ticks.load(Ordering::SeqCst), Ordering::SeqCst);
            }
            let (ticks, every) = (self.ticks.clone(), self.every);
            *self.task.lock() = Some(tokio::spawn(async move {
                loop {
                    tokio::time::sleep(every).await;
                    ticks.fetch_add(1, Ordering::SeqCst);
                }
            }));
        }
        fn status(&self) -> Value {
            json!({"ticks": self.ticks.load(Ordering::SeqCst)})
        }
        fn close(&self) {
            if let Some(t) = self.task.lock().take() {
                t.abort();
            }
        }
        fn as_any(&self) -> &dyn Any {
            self
        }
        fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
            self
        }
    }

    pub fn ticker(sup: &Supervisor) -> Arc<Ticker> {
        sup.get("t")
            .unwrap()
            .object
            .into_any()
            .downcast::<Ticker>()
            .unwrap()
    }

    pub fn stopped(t: &Ticker) -> bool {
        t.task.lock().is_none()
    }

    pub fn ticks(t: &Ticker) -> u64 {
        t.ticks.load(Ordering::SeqCst)
    }
}

#[tokio::test]
async fn a_user_kind_hands_over_through_the_same_contract() {
    use user_kind::*;
    let mut kinds = KindRegistry::new();
    kinds.register(Arc::new(TickerKind));
    let sup = Supervisor::new(
        kinds,
        Arc::new(MemStore::new()),
        MemberInfo::standalone("m1"),
    );
    let spec = |every: Value| {
        Spec::from_doc(json!({"name": "t", "kind": "Ticker", "everyMs": every})).unwrap()
    };

    sup.apply_spec(spec(json!(5)));
    let first = ticker(&sup);
    eg_testkit::wait_until("three ticks", || ticks(&first) >= 3).await;
    sup.apply_spec(spec(json!(0)));
    assert!(
        Arc::ptr_eq(&first, &ticker(&sup)),
        "a bad spec replaces nothing"
    );
    assert!(!stopped(&first));

    sup.apply_spec(spec(json!(6)));
    let second = ticker(&sup);
    assert!(stopped(&first), "the replaced generation was closed");
    assert!(ticks(&second) >= 3, "the count carried on");
    let at_handover = ticks(&first);
    tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    assert_eq!(ticks(&first), at_handover, "the old task stopped");
    assert!(!stopped(&second));

    sup.remove("t");
    assert!(stopped(&second));
}
