//! `/objects`: create, read, update, delete object specs.

use std::collections::BTreeSet;
use std::sync::Arc;

use bytes::Bytes;
use eg_spec::meta::now_rfc3339;
use eg_spec::{Meta, OWNER_LABEL, OWNER_USER_API};
use eg_store::{keys, Op, Store};
use eg_supervisor::{Category, Spec, Supervisor};
use http::StatusCode;
use serde_json::{json, Map, Value};

use crate::api::Api;
use crate::reply::{ok, ApiError, ApiResult, Reply};

/// Parses a request body as one YAML or JSON document.
pub(crate) fn parse_body(body: &[u8]) -> Result<Value, ApiError> {
    let text =
        std::str::from_utf8(body).map_err(|_| ApiError::bad_request("body is not UTF-8 text"))?;
    if text.trim().is_empty() {
        return Err(ApiError::bad_request(
            "empty body: a YAML or JSON spec is expected",
        ));
    }
    Ok(eg_spec::parse_document(text)?)
}

/// A spec checked and ready to store, with what it owns and the warnings found.
struct Checked {
    spec: Spec,
    owned: Vec<Spec>,
    warnings: Vec<String>,
}

/// Parses a request body on the blocking pool: a large spec takes long enough to parse that
/// doing it on a runtime worker would stall the traffic that worker serves.
pub(crate) async fn parse_body_off_thread(body: Bytes) -> Result<Value, ApiError> {
    tokio::task::spawn_blocking(move || parse_body(&body))
        .await
        .map_err(|e| ApiError::internal(format!("parser task failed: {e}")))?
}

/// [`check`] on the blocking pool, for the same reason as [`parse_body_off_thread`].
async fn check_off_thread(sup: &Supervisor, doc: Value) -> Result<Checked, ApiError> {
    let sup = sup.clone();
    tokio::task::spawn_blocking(move || check(&sup, doc))
        .await
        .map_err(|e| ApiError::internal(format!("validation task failed: {e}")))?
}

/// Checks meta, kind and the kind's rules; fills in meta defaults and `createdAt`.
fn check(sup: &Supervisor, doc: Value) -> Result<Checked, ApiError> {
    let mut meta = Meta::from_value(&doc)?;
    let kind = sup
        .kinds()
        .get(&meta.kind)
        .ok_or_else(|| ApiError::bad_request(format!("kind: kind {:?} not found", meta.kind)))?
        .clone();
    meta.labels
        .entry(OWNER_LABEL.to_string())
        .or_insert_with(|| OWNER_USER_API.to_string());
    meta.created_at = Some(now_rfc3339());
    let mut doc = doc;
    if let Some(obj) = doc.as_object_mut() {
        meta.write_into(obj);
    }
    let spec = Spec { meta, doc };
    let mut warnings: Vec<String> = kind.validate(&spec, sup)?;
    let mut owned = Vec::new();
    for doc in kind.owned_objects(&spec) {
        let o = Spec::from_doc(doc)?;
        let okind = sup.kinds().get(o.kind()).ok_or_else(|| {
            ApiError::internal(format!("owned object kind {:?} not registered", o.kind()))
        })?;
        let w = okind
            .validate(&o, sup)
            .map_err(|e| ApiError::bad_request(format!("generated object {}: {e}", o.name())))?;
        warnings.extend(
            w.into_iter()
                .map(|w| format!("{}: unknown field {w} is ignored", o.name())),
        );
        owned.push(o);
    }
    Ok(Checked {
        spec,
        owned,
        warnings,
    })
}

fn to_bytes(doc: &Value) -> Vec<u8> {
    serde_json::to_vec(doc).unwrap_or_default()
}

/// Runs a blocking store call off the async workers.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, eg_store::StoreError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::internal(format!("store task failed: {e}")))?
        .map_err(ApiError::from)
}

/// Reads a stored object.
pub(crate) fn stored(store: &Arc<dyn Store>, name: &str) -> Result<Option<Spec>, ApiError> {
    match store.get(&keys::object(name))? {
        None => Ok(None),
        Some(bytes) => Ok(Some(
            eg_supervisor::parse_stored(&bytes).map_err(|e| ApiError::internal(e.to_string()))?,
        )),
    }
}

/// All stored objects, sorted by name.
pub(crate) fn all_stored(store: &Arc<dyn Store>) -> Result<Vec<Spec>, ApiError> {
    Ok(store
        .range(keys::OBJECTS_PREFIX)?
        .into_iter()
        .filter_map(|(_, v)| eg_supervisor::parse_stored(&v).ok())
        .collect())
}

/// Bumps `/config/version` in the same batch as the change it counts.
fn version_op() -> Op {
    Op::Increment(keys::CONFIG_VERSION.to_string())
}

fn warnings_reply(status: StatusCode, name: &str, warnings: Vec<String>) -> Reply {
    if warnings.is_empty() {
        Reply::Empty(status)
    } else {
        Reply::Json(status, json!({"name": name, "warnings": warnings}))
    }
}

/// `POST /objects`.
pub async fn create(api: &Api, body: Bytes, dry_run: bool) -> ApiResult {
    let doc = parse_body_off_thread(body).await?;
    let _guard = api.lock_writes().await?;
    let checked = check_off_thread(&api.sup, doc).await?;
    let name = checked.spec.name().to_string();
    if api.sup.kinds().category(checked.spec.kind()) == Some(Category::SystemController) {
        return Err(ApiError::conflict(format!(
            "{name}: system controllers cannot be created"
        )));
    }
    let store = api.sup.store().clone();
    let mut ops = vec![Op::Put(keys::object(&name), to_bytes(&checked.spec.doc))];
    for o in &checked.owned {
        let kind = checked.spec.kind();
        if stored(&store, o.name())?.is_some_and(|s| !s.meta.is_owned_by(kind, &name)) {
            return Err(ApiError::conflict(format!(
                "generated object {} already exists",
                o.name()
            )));
        }
        ops.push(Op::Put(keys::object(o.name()), to_bytes(&o.doc)));
    }
    if dry_run {
        if stored(&store, &name)?.is_some() {
            return Err(ApiError::conflict(format!(
                "conflict name: {name} already exists"
            )));
        }
        return Ok(warnings_reply(StatusCode::CREATED, &name, checked.warnings));
    }
    ops.push(version_op());
    let key = keys::object(&name);
    let s = store.clone();
    let res = tokio::task::spawn_blocking(move || s.apply(ops, Some(&key)))
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?;
    match res {
        Ok(_) => {}
        Err(eg_store::StoreError::Conflict(_)) => {
            return Err(ApiError::conflict(format!(
                "conflict name: {name} already exists"
            )))
        }
        Err(e) => return Err(e.into()),
    }
    tracing::info!(%name, kind = %checked.spec.kind(), "object created");
    let mut reply = warnings_reply(StatusCode::CREATED, &name, checked.warnings);
    if let Reply::Empty(_) = reply {
        reply = Reply::Raw(location_response(&name));
    }
    Ok(reply)
}

fn location_response(name: &str) -> http::Response<crate::reply::ApiBody> {
    let mut resp = crate::reply::encode(Ok(Reply::Empty(StatusCode::CREATED)), false);
    if let Ok(v) = http::HeaderValue::from_str(&format!("{}/objects/{name}", crate::API_PREFIX)) {
        resp.headers_mut().insert(http::header::LOCATION, v);
    }
    resp
}

/// `PUT /objects/{name}`.
pub async fn update(api: &Api, name: &str, body: Bytes, dry_run: bool) -> ApiResult {
    let doc = parse_body_off_thread(body).await?;
    let _guard = api.lock_writes().await?;
    let store = api.sup.store().clone();
    let existing = stored(&store, name)?
        .ok_or_else(|| ApiError::not_found(format!("object {name} not found")))?;
    let body_name = doc.get("name").and_then(Value::as_str).unwrap_or("");
    if body_name != name {
        return Err(ApiError::bad_request(format!(
            "name: the name in the body ({body_name:?}) differs from the name in the URL ({name:?})"
        )));
    }
    if existing.meta.owner() != OWNER_USER_API {
        return Err(ApiError::bad_request(format!(
            "{name} is owned by {} and cannot be changed through the API",
            existing.meta.owner()
        )));
    }
    let checked = check_off_thread(&api.sup, doc).await?;
    if checked.spec.kind() != existing.kind() {
        return Err(ApiError::bad_request(format!(
            "kind: the kind of {name} cannot change from {} to {}",
            existing.kind(),
            checked.spec.kind()
        )));
    }
    if dry_run {
        return Ok(warnings_reply(StatusCode::OK, name, checked.warnings));
    }
    let mut ops = vec![Op::Put(keys::object(name), to_bytes(&checked.spec.doc))];
    let new_owned: BTreeSet<&str> = checked.owned.iter().map(|o| o.name()).collect();
    for old in owned_by(&store, existing.kind(), name)? {
        if !new_owned.contains(old.as_str()) {
            ops.push(Op::Delete(keys::object(&old)));
        }
    }
    for o in &checked.owned {
        ops.push(Op::Put(keys::object(o.name()), to_bytes(&o.doc)));
    }
    ops.push(version_op());
    blocking(move || store.apply(ops, None)).await?;
    tracing::info!(%name, "object updated");
    Ok(warnings_reply(StatusCode::OK, name, checked.warnings))
}

/// The objects `kind`/`name` generated (labelled `<kind>:<name>`, or `<name>` as stored by
/// earlier versions).
fn owned_by(store: &Arc<dyn Store>, kind: &str, name: &str) -> Result<Vec<String>, ApiError> {
    Ok(all_stored(store)?
        .into_iter()
        .filter(|s| s.meta.is_owned_by(kind, name))
        .map(|s| s.meta.name)
        .collect())
}

/// `DELETE /objects/{name}`.
pub async fn delete(api: &Api, name: &str) -> ApiResult {
    let _guard = api.lock_writes().await?;
    let store = api.sup.store().clone();
    let existing = stored(&store, name)?
        .ok_or_else(|| ApiError::not_found(format!("object {name} not found")))?;
    if existing.meta.owner() != OWNER_USER_API {
        return Err(ApiError::bad_request(format!(
            "{name} is owned by {} and cannot be deleted through the API",
            existing.meta.owner()
        )));
    }
    if api.sup.kinds().category(existing.kind()) == Some(Category::SystemController) {
        return Err(ApiError::bad_request(format!(
            "{name}: system controllers cannot be deleted"
        )));
    }
    let mut ops = vec![Op::Delete(keys::object(name))];
    ops.extend(
        owned_by(&store, existing.kind(), name)?
            .into_iter()
            .map(|o| Op::Delete(keys::object(&o))),
    );
    ops.push(version_op());
    blocking(move || store.apply(ops, None)).await?;
    tracing::info!(%name, "object deleted");
    Ok(Reply::Empty(StatusCode::OK))
}

/// `DELETE /objects?all=true`: every user object (and what it owns).
pub async fn delete_all(api: &Api, all: bool) -> ApiResult {
    if !all {
        return Ok(Reply::Empty(StatusCode::OK));
    }
    let _guard = api.lock_writes().await?;
    let store = api.sup.store().clone();
    let mut ops: Vec<Op> = all_stored(&store)?
        .into_iter()
        .filter(|s| api.sup.kinds().category(s.kind()) != Some(Category::SystemController))
        .map(|s| Op::Delete(keys::object(s.name())))
        .collect();
    ops.push(version_op());
    blocking(move || store.apply(ops, None)).await?;
    Ok(Reply::Empty(StatusCode::OK))
}

/// `GET /objects/{name}`.
pub async fn get(api: &Api, name: &str, namespace: Option<&str>) -> ApiResult {
    if let Some(ns) = namespace {
        if ns != "default" {
            return Err(ApiError::not_found(format!(
                "object {name} not found in namespace {ns}"
            )));
        }
    }
    let spec = stored(api.sup.store(), name)?
        .ok_or_else(|| ApiError::not_found(format!("object {name} not found")))?;
    ok(spec.doc)
}

/// `GET /objects` with `namespace` / `all-namespaces`.
pub async fn list(api: &Api, namespace: Option<&str>, all_namespaces: bool) -> ApiResult {
    if namespace.is_some() && all_namespaces {
        return Err(ApiError::bad_request(
            "namespace and all-namespaces cannot be used together",
        ));
    }
    let specs = all_stored(api.sup.store())?;
    let is_traffic = |s: &Spec| {
        api.sup
            .kinds()
            .category(s.kind())
            .is_some_and(|c| c.is_traffic())
    };
    if all_namespaces {
        let traffic: Vec<Value> = specs
            .iter()
            .filter(|s| is_traffic(s))
            .map(|s| s.doc.clone())
            .collect();
        let mut m = Map::new();
        m.insert("default".into(), Value::Array(traffic));
        return ok(Value::Object(m));
    }
    match namespace {
        Some("default") => ok(Value::Array(
            specs
                .into_iter()
                .filter(|s| is_traffic(s))
                .map(|s| s.doc)
                .collect(),
        )),
        Some(_) => ok(Value::Array(Vec::new())),
        None => ok(Value::Array(specs.into_iter().map(|s| s.doc).collect())),
    }
}

/// Creates an object from a file at start-up when no object of that name exists yet
/// (`--initial-object-config-files`). Returns whether it was created.
pub async fn create_initial_object(api: &Api, text: &str) -> Result<bool, String> {
    let doc = eg_spec::parse_document(text).map_err(|e| e.to_string())?;
    let name = doc
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if !name.is_empty()
        && stored(api.sup.store(), &name)
            .map_err(|e| e.message)?
            .is_some()
    {
        return Ok(false);
    }
    let body = serde_json::to_vec(&doc).map_err(|e| e.to_string())?;
    create(api, Bytes::from(body), false)
        .await
        .map(|_| true)
        .map_err(|e| e.message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future;
    use std::task::Poll;
    use std::time::Instant;

    fn test_api() -> Arc<Api> {
        let sup = Supervisor::new(
            eg_supervisor::KindRegistry::new(),
            Arc::new(eg_store::MemStore::new()),
            eg_supervisor::MemberInfo::standalone("t"),
        );
        Api::new(
            sup,
            Arc::new(eg_filters::FilterRegistry::new()),
            crate::ApiConfig::default(),
            crate::LogControl::default(),
        )
    }

    /// A spec with `keys` keys, as JSON.
    fn big_spec(keys: usize) -> Bytes {
        let mut s = String::from(r#"{"name":"big","kind":"NoSuchKind","data":{"#);
        for i in 0..keys {
            if i > 0 {
                s.push(',');
            }
            s.push_str(&format!("\"k{i}\":{i}"));
        }
        s.push_str("}}");
        Bytes::from(s)
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_large_spec_is_parsed_off_the_runtime_workers() {
        let api = test_api();
        let body = big_spec(100_000);
        let t = Instant::now();
        parse_body(&body).expect("parses");
        let parse_time = t.elapsed();

        let fut = create(&api, body, false);
        tokio::pin!(fut);
        let t = Instant::now();
        let first =
            std::future::poll_fn(|cx| Poll::Ready(fut.as_mut().poll(cx).is_pending())).await;
        let first_poll = t.elapsed();
        assert!(
            first,
            "create finished inside its first poll: the worker parsed the spec"
        );
        assert!(
            first_poll < parse_time / 4,
            "first poll took {first_poll:?}; parsing takes {parse_time:?}"
        );
        let err = fut.await.unwrap_err();
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
        assert!(err.message.contains("NoSuchKind"), "{}", err.message);
    }
}
