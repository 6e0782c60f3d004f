//! The `StatusInLocalController` kind: writes the status of all running objects to a local
//! YAML file every few seconds.
//!
//! It is the example controller of the developer guide (`docs/developer-guide.md`): one
//! module with a [`KindInfo`], an [`ObjectKind`] that builds generations and an [`Object`]
//! that starts and closes them, plus one line in the server's registry. Nothing carries over
//! between generations: a new one starts its own writer, and the supervisor closes the
//! replaced one, which stops its writer.

use std::any::Any;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use eg_spec::SpecError;
use eg_supervisor::{Category, KindInfo, Object, ObjectKind, Spec, Supervisor};
use parking_lot::Mutex;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::task::JoinHandle;

/// Kind name.
pub const KIND: &str = "StatusInLocalController";
/// The kind's description (category `BusinessController`; egctl `statusinlocalcontroller`,
/// `statusinlocalcontrollers`, `statusinlocal`).
pub const INFO: KindInfo = KindInfo {
    kind: KIND,
    category: Category::BusinessController,
    name: "statusinlocalcontroller",
    aliases: &["statusinlocalcontrollers", "statusinlocal"],
    default_spec: || json!({"path": "status.yaml"}),
    schema: eg_spec::spec_schema::<StatusInLocalSpec>,
};
/// How often the status file is rewritten.
pub const SYNC_INTERVAL: Duration = Duration::from_secs(5);

/// The spec of a `StatusInLocalController`.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatusInLocalSpec {
    /// The file the statuses are written to (YAML). Relative paths are taken relative to the
    /// server's home directory.
    pub path: String,
}

fn decode(spec: &Spec) -> Result<(StatusInLocalSpec, Vec<String>), SpecError> {
    let (s, warnings) = eg_spec::decode_kind::<StatusInLocalSpec>(&spec.doc, "")?.into_parts();
    if s.path.trim().is_empty() {
        return Err(SpecError::new("path", "path must not be empty"));
    }
    Ok((s, warnings))
}

/// The `StatusInLocalController` kind.
pub struct StatusInLocalKind;

impl ObjectKind for StatusInLocalKind {
    fn info(&self) -> &'static KindInfo {
        &INFO
    }

    fn validate(&self, spec: &Spec, _sup: &Supervisor) -> Result<Vec<String>, SpecError> {
        decode(spec).map(|(_, w)| w)
    }

    fn build(&self, spec: &Spec, sup: &Supervisor) -> Result<Arc<dyn Object>, SpecError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(SpecError::doc(
                "a StatusInLocalController can only be created inside the server's runtime",
            ));
        }
        let (s, _) = decode(spec)?;
        let path = Path::new(&s.path);
        let path = if path.is_absolute() {
            path.to_path_buf()
        } else {
            sup.member().home_dir.join(path)
        };
        Ok(Arc::new(StatusInLocal {
            path,
            sup: sup.clone(),
            writer: Mutex::new(None),
        }))
    }
}

/// A `StatusInLocalController` generation.
pub struct StatusInLocal {
    path: PathBuf,
    sup: Supervisor,
    /// The writer task, from `start` until `close`.
    writer: Mutex<Option<JoinHandle<()>>>,
}
async fn write_loop(sup: Supervisor, path: PathBuf) {
    let mut tick = tokio::time::interval(SYNC_INTERVAL);
    loop {
        tick.tick().await;
        let statuses: serde_json::Map<String, Value> = sup.statuses(None).into_iter().collect();
        let text = eg_spec::to_yaml(&Value::Object(statuses));
        let path = path.clone();
        let res =
            tokio::task::spawn_blocking(move || write_atomically(&path, text.as_bytes())).await;
        if let Ok(Err(e)) = res {
            tracing::warn!(error = %e, "StatusInLocalController cannot write its status file");
        }
    }
}

/// Writes `bytes` to a temporary file beside `path` and renames it over `path`, so that a
/// reader never sees a half-written file.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

impl Object for StatusInLocal {
    /// Starts the writer. Nothing is taken from `prev`: its writer stops when the supervisor
    /// closes it, right after this generation is published.
    fn start(&self, _prev: Option<&dyn Object>) {
        let task = tokio::spawn(write_loop(self.sup.clone(), self.path.clone()));
        *self.writer.lock() = Some(task);
    }

    fn status(&self) -> Value {
        json!({"path": self.path})
    }

    fn close(&self) {
        if let Some(task) = self.writer.lock().take() {
            task.abort();
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eg_store::MemStore;
    use eg_supervisor::{KindRegistry, MemberInfo};

    fn sup(home: &Path) -> Supervisor {
        let mut kinds = KindRegistry::new();
        kinds.register(Arc::new(StatusInLocalKind));
        let mut member = MemberInfo::standalone("m1");
        member.home_dir = home.to_path_buf();
        Supervisor::new(kinds, Arc::new(MemStore::new()), member)
    }

    fn spec(doc: Value) -> Spec {
        Spec::from_doc(doc).unwrap()
    }

    #[test]
    fn bad_specs_name_the_field() {
        let dir = tempfile::tempdir().unwrap();
        let s = sup(dir.path());
        let k = StatusInLocalKind;
        let err = k
            .validate(&spec(json!({"name": "s", "kind": KIND})), &s)
            .unwrap_err();
        assert!(err.message.contains("missing field `path`"), "{err}");
        let err = k
            .validate(&spec(json!({"name": "s", "kind": KIND, "path": ""})), &s)
            .unwrap_err();
        assert_eq!(err.path, "path");
        let err = k
            .validate(&spec(json!({"name": "s", "kind": KIND, "path": 3})), &s)
            .unwrap_err();
        assert_eq!(err.path, "path");
        let w = k
            .validate(
                &spec(json!({"name": "s", "kind": KIND, "path": "x", "every": 1})),
                &s,
            )
            .unwrap();
        assert_eq!(w, vec!["every: unknown field, ignored"]);
    }

    #[tokio::test]
    async fn writes_the_status_of_running_objects() {
        let dir = tempfile::tempdir().unwrap();
        let s = sup(dir.path());
        s.apply_spec(spec(
            json!({"name": "local-status", "kind": KIND, "path": "out/status.yaml"}),
        ));
        let file = dir.path().join("out/status.yaml");
        let mut text = String::new();
        for _ in 0..200 {
            if let Ok(t) = std::fs::read_to_string(&file) {
                text = t;
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let doc = eg_spec::parse_document(&text).unwrap();
        assert_eq!(doc["default/local-status/m1"]["path"], json!(file));
        s.remove("local-status");
    }

    #[tokio::test]
    async fn an_update_stops_the_replaced_writer() {
        let dir = tempfile::tempdir().unwrap();
        let s = sup(dir.path());
        let doc = |path: &str| spec(json!({"name": "ls", "kind": KIND, "path": path}));
        let running = |s: &Supervisor| {
            s.get("ls")
                .unwrap()
                .object
                .into_any()
                .downcast::<StatusInLocal>()
                .unwrap()
        };
        s.apply_spec(doc("a.yaml"));
        let first = running(&s);
        assert!(first.writer.lock().is_some());
        s.apply_spec(doc("b.yaml"));
        let second = running(&s);
        assert!(first.writer.lock().is_none(), "the replaced writer stopped");
        assert!(second.writer.lock().is_some());
        s.remove("ls");
        assert!(second.writer.lock().is_none());
    }
}
