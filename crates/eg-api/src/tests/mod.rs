//! Handler tests: `routes::dispatch` over a supervisor on a memory store with two test kinds
//! (no object is ever started: the handlers only read and write the store), and the
//! listener's own answers over a real socket.

mod customdata;
mod objects;
mod routes;
mod server;

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use eg_spec::SpecError;
use eg_store::keys;
use eg_supervisor::{
    no_defaults, object_schema, Category, KindInfo, KindRegistry, MemberInfo, Object, ObjectKind,
    Spec, Supervisor,
};
use http::{HeaderMap, Method, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};

use crate::api::{Api, ApiConfig, LogControl};
use crate::reply::encode;
use crate::routes::dispatch;

/// `Widget`, a Pipeline-category kind: `size` must not be negative; with `parts: n` it owns
/// `n` objects `<name>-part-<i>` of kind [`PART`].
struct WidgetKind;

const WIDGET: KindInfo = KindInfo {
    kind: "Widget",
    category: Category::Pipeline,
    name: "widget",
    aliases: &["widgets"],
    default_spec: no_defaults,
    schema: object_schema,
};

/// `Part`, a BusinessController-category kind owned by widgets; refuses `broken: true`.
struct PartKind;

const PART: KindInfo = KindInfo {
    kind: "Part",
    category: Category::BusinessController,
    name: "part",
    aliases: &[],
    default_spec: no_defaults,
    schema: object_schema,
};

/// The one running object type of both kinds (never started by these tests).
struct Inert;

impl Object for Inert {
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn into_any(self: Arc<Self>) -> Arc<dyn std::any::Any + Send + Sync> {
        self
    }
}

impl ObjectKind for WidgetKind {
    fn info(&self) -> &'static KindInfo {
        &WIDGET
    }

    fn owned_objects(&self, spec: &Spec) -> Vec<Value> {
        let n = spec.doc.get("parts").and_then(Value::as_u64).unwrap_or(0);
        let broken = spec.doc.get("brokenParts").and_then(Value::as_bool) == Some(true);
        (0..n)
            .map(|i| {
                json!({
                    "name": format!("{}-part-{i}", spec.name()),
                    "kind": "Part",
                    "labels": {"easegress/owner": eg_spec::owner_of(spec.kind(), spec.name())},
                    "broken": broken,
                })
            })
            .collect()
    }

    fn validate(&self, spec: &Spec, _: &Supervisor) -> Result<Vec<String>, SpecError> {
        match spec.doc.get("size").and_then(Value::as_i64) {
            Some(s) if s < 0 => Err(SpecError::new("size", "must not be negative")),
            _ => Ok(match spec.doc.get("unknownField") {
                Some(_) => vec!["unknownField".to_string()],
                None => Vec::new(),
            }),
        }
    }

    fn build(&self, _: &Spec, _: &Supervisor) -> Result<Arc<dyn Object>, SpecError> {
        Ok(Arc::new(Inert))
    }
}

impl ObjectKind for PartKind {
    fn info(&self) -> &'static KindInfo {
        &PART
    }

    fn validate(&self, spec: &Spec, _: &Supervisor) -> Result<Vec<String>, SpecError> {
        if spec.doc.get("broken").and_then(Value::as_bool) == Some(true) {
            return Err(SpecError::new("broken", "parts must not be broken"));
        }
        Ok(Vec::new())
    }

    fn build(&self, _: &Spec, _: &Supervisor) -> Result<Arc<dyn Object>, SpecError> {
        Ok(Arc::new(Inert))
    }
}

/// An API over a fresh memory store knowing `Widget` and `Part`.
fn api_with(config: ApiConfig) -> Arc<Api> {
    let mut kinds = KindRegistry::new();
    kinds
        .register(Arc::new(WidgetKind))
        .register(Arc::new(PartKind));
    let sup = Supervisor::new(
        kinds,
        Arc::new(eg_store::MemStore::new()),
        MemberInfo::standalone("api-test"),
    );
    Api::new(
        sup,
        Arc::new(eg_filters::FilterRegistry::new()),
        config,
        LogControl::default(),
    )
}

fn api() -> Arc<Api> {
    api_with(ApiConfig::default())
}

/// An answer as a client sees it.
#[derive(Debug)]
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

impl Answer {
    /// The error message of an error answer.
    fn message(&self) -> &str {
        self.body["message"].as_str().unwrap_or("")
    }
}

/// Dispatches `method path?query` with `body` and encodes the reply as JSON.
async fn call(api: &Api, method: &str, target: &str, body: &str) -> Answer {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let query: HashMap<String, String> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let method: Method = method.parse().unwrap();
    let reply = dispatch(api, &method, path, &query, Bytes::from(body.to_string())).await;
    let (parts, body) = encode(reply, false).into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    Answer {
        status: parts.status,
        headers: parts.headers,
        body: if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        },
    }
}

/// `POST /objects` with `body`.
async fn post(api: &Api, body: &str) -> Answer {
    call(api, "POST", "/objects", body).await
}

/// `PUT /objects/{name}` with `body`.
async fn put(api: &Api, name: &str, body: &str) -> Answer {
    call(api, "PUT", &format!("/objects/{name}"), body).await
}

/// The status of [`call`]'s answer.
async fn status(api: &Api, method: &str, target: &str, body: &str) -> StatusCode {
    call(api, method, target, body).await.status
}

/// The stored document of object `name`.
fn stored(api: &Api, name: &str) -> Option<Value> {
    api.sup
        .store()
        .get(&keys::object(name))
        .unwrap()
        .map(|b| serde_json::from_slice(&b).unwrap())
}

/// The names of every stored object.
fn stored_names(api: &Api) -> Vec<String> {
    api.sup
        .store()
        .range(keys::OBJECTS_PREFIX)
        .unwrap()
        .into_iter()
        .map(|(k, _)| k.trim_start_matches(keys::OBJECTS_PREFIX).to_string())
        .collect()
}

/// `/config/version` as stored (0 before any write).
fn config_version(api: &Api) -> u64 {
    api.sup
        .store()
        .get(keys::CONFIG_VERSION)
        .unwrap()
        .map(|b| String::from_utf8(b).unwrap().parse().unwrap())
        .unwrap_or(0)
}

fn widget(name: &str, fields: Value) -> String {
    let mut doc = json!({"name": name, "kind": "Widget"});
    if let (Some(d), Some(f)) = (doc.as_object_mut(), fields.as_object()) {
        for (k, v) in f {
            d.insert(k.clone(), v.clone());
        }
    }
    doc.to_string()
}
