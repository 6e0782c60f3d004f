//! Custom data: kinds (`/customdatakinds`) and their items (`/customdata/{kind}`).
//!
//! A kind has a `name`, an `idField` (default `name`) and an optional JSON schema every item
//! must satisfy. Items are free-form maps whose `idField` value is their id.

use std::sync::Arc;

use bytes::Bytes;
use eg_store::{keys, Op, Store};
use http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::api::Api;
use crate::objects::{blocking, parse_body_off_thread};
use crate::reply::{ok, ApiError, ApiResult, Reply};

/// A custom data kind.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DataKind {
    name: String,
    #[serde(default)]
    id_field: String,
    #[serde(default, skip_serializing_if = "Value::is_null")]
    json_schema: Value,
}

impl DataKind {
    fn id_field(&self) -> &str {
        if self.id_field.is_empty() {
            "name"
        } else {
            &self.id_field
        }
    }

    /// Checks `item` against the kind and returns its id.
    fn check_item(
        &self,
        item: &Value,
        validator: Option<&jsonschema::Validator>,
    ) -> Result<String, ApiError> {
        let obj = item
            .as_object()
            .ok_or_else(|| ApiError::bad_request("custom data item must be a mapping"))?;
        let id = match obj.get(self.id_field()) {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => {
                return Err(ApiError::bad_request(format!(
                    "{}: the id field is required and must be a non-empty string",
                    self.id_field()
                )))
            }
        };
        if let Some(v) = validator {
            if let Err(e) = v.validate(item) {
                let path = e.instance_path().to_string();
                let at = if path.is_empty() {
                    String::new()
                } else {
                    format!(" at {path}")
                };
                return Err(ApiError::bad_request(format!(
                    "item {id} fails the kind's JSON schema{at}: {e}"
                )));
            }
        }
        Ok(id)
    }

    fn validator(&self) -> Result<Option<jsonschema::Validator>, ApiError> {
        if self.json_schema.is_null() || self.json_schema == json!({}) {
            return Ok(None);
        }
        jsonschema::validator_for(&self.json_schema)
            .map(Some)
            .map_err(|e| ApiError::bad_request(format!("jsonSchema: invalid JSON schema: {e}")))
    }
}

fn load_kind(store: &Arc<dyn Store>, name: &str) -> Result<DataKind, ApiError> {
    let bytes = store
        .get(&keys::custom_data_kind(name))?
        .ok_or_else(|| ApiError::not_found(format!("custom data kind {name} not found")))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::internal(format!("stored custom data kind {name}: {e}")))
}

async fn parse_kind(body: Bytes) -> Result<DataKind, ApiError> {
    let doc = parse_body_off_thread(body).await?;
    let kind: DataKind = serde_json::from_value(doc)
        .map_err(|e| ApiError::bad_request(format!("invalid custom data kind: {e}")))?;
    eg_spec::meta::validate_name(&kind.name, "name")?;
    kind.validator()?;
    Ok(kind)
}

fn kind_value(kind: &DataKind) -> Value {
    let mut v = serde_json::to_value(kind).unwrap_or(Value::Null);
    if let Some(o) = v.as_object_mut() {
        o.insert("idField".into(), json!(kind.id_field()));
    }
    v
}

/// `GET /customdatakinds`.
pub async fn list_kinds(api: &Api) -> ApiResult {
    let store = api.sup.store();
    let mut kinds = Vec::new();
    for (_, v) in store.range(keys::CUSTOM_DATA_KINDS_PREFIX)? {
        let Ok(k) = serde_json::from_slice::<DataKind>(&v) else {
            continue;
        };
        let len = store.range(&keys::custom_data_items(&k.name))?.len();
        let mut value = kind_value(&k);
        if let Some(o) = value.as_object_mut() {
            o.insert("len".into(), json!(len));
        }
        kinds.push(value);
    }
    ok(Value::Array(kinds))
}

/// `GET /customdatakinds/{name}`.
pub async fn get_kind(api: &Api, name: &str) -> ApiResult {
    ok(kind_value(&load_kind(api.sup.store(), name)?))
}

/// `POST /customdatakinds` (`update = false`) or `PUT /customdatakinds` (`update = true`).
pub async fn put_kind(api: &Api, body: Bytes, update: bool) -> ApiResult {
    let kind = parse_kind(body).await?;
    let _guard = api.lock_writes().await?;
    let store = api.sup.store().clone();
    let key = keys::custom_data_kind(&kind.name);
    let exists = store.get(&key)?.is_some();
    if update && !exists {
        return Err(ApiError::not_found(format!(
            "custom data kind {} not found",
            kind.name
        )));
    }
    if !update && exists {
        return Err(ApiError::conflict(format!(
            "custom data kind {} already exists",
            kind.name
        )));
    }
    let bytes = serde_json::to_vec(&kind).unwrap_or_default();
    blocking(move || store.apply(vec![Op::Put(key, bytes)], None)).await?;
    Ok(Reply::Empty(if update {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    }))
}

/// `DELETE /customdatakinds/{name}` (with its items), or every kind when `name` is `None`.
pub async fn delete_kind(api: &Api, name: Option<&str>) -> ApiResult {
    let _guard = api.lock_writes().await?;
    let store = api.sup.store().clone();
    let mut ops = Vec::new();
    match name {
        Some(n) => {
            load_kind(&store, n)?;
            ops.push(Op::Delete(keys::custom_data_kind(n)));
            for (k, _) in store.range(&keys::custom_data_items(n))? {
                ops.push(Op::Delete(k));
            }
        }
        None => {
            for (k, _) in store.range(keys::CUSTOM_DATA_KINDS_PREFIX)? {
                ops.push(Op::Delete(k));
            }
            for (k, _) in store.range(keys::CUSTOM_DATA_PREFIX)? {
                ops.push(Op::Delete(k));
            }
        }
    }
    if !ops.is_empty() {
        blocking(move || store.apply(ops, None)).await?;
    }
    Ok(Reply::Empty(StatusCode::OK))
}

/// `GET /customdata/{kind}`.
pub async fn list_items(api: &Api, kind: &str) -> ApiResult {
    let store = api.sup.store();
    load_kind(store, kind)?;
    let items: Vec<Value> = store
        .range(&keys::custom_data_items(kind))?
        .into_iter()
        .filter_map(|(_, v)| serde_json::from_slice(&v).ok())
        .collect();
    ok(Value::Array(items))
}

/// `GET /customdata/{kind}/{id}`.
pub async fn get_item(api: &Api, kind: &str, id: &str) -> ApiResult {
    let store = api.sup.store();
    load_kind(store, kind)?;
    let bytes = store
        .get(&keys::custom_data_item(kind, id))?
        .ok_or_else(|| ApiError::not_found(format!("custom data {id} of kind {kind} not found")))?;
    ok(serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// `POST /customdata/{kind}` (create; 409 when the id exists) or `PUT` (create or replace).
pub async fn put_item(api: &Api, kind: &str, body: Bytes, create: bool) -> ApiResult {
    let item = parse_body_off_thread(body).await?;
    let _guard = api.lock_writes().await?;
    let store = api.sup.store().clone();
    let k = load_kind(&store, kind)?;
    let id = k.check_item(&item, k.validator()?.as_ref())?;
    let key = keys::custom_data_item(kind, &id);
    if create && store.get(&key)?.is_some() {
        return Err(ApiError::conflict(format!(
            "custom data {id} of kind {kind} already exists"
        )));
    }
    let bytes = serde_json::to_vec(&item).unwrap_or_default();
    blocking(move || store.apply(vec![Op::Put(key, bytes)], None)).await?;
    Ok(Reply::Empty(if create {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    }))
}

/// `DELETE /customdata/{kind}/{id}`.
pub async fn delete_item(api: &Api, kind: &str, id: &str) -> ApiResult {
    let _guard = api.lock_writes().await?;
    let store = api.sup.store().clone();
    load_kind(&store, kind)?;
    let key = keys::custom_data_item(kind, id);
    if store.get(&key)?.is_none() {
        return Err(ApiError::not_found(format!(
            "custom data {id} of kind {kind} not found"
        )));
    }
    blocking(move || store.apply(vec![Op::Delete(key)], None)).await?;
    Ok(Reply::Empty(StatusCode::OK))
}

/// `DELETE /customdata/{kind}/items` (and `DELETE /customdata/{kind}`): every item.
pub async fn delete_items(api: &Api, kind: &str) -> ApiResult {
    let _guard = api.lock_writes().await?;
    let store = api.sup.store().clone();
    load_kind(&store, kind)?;
    let ops: Vec<Op> = store
        .range(&keys::custom_data_items(kind))?
        .into_iter()
        .map(|(k, _)| Op::Delete(k))
        .collect();
    if !ops.is_empty() {
        blocking(move || store.apply(ops, None)).await?;
    }
    Ok(Reply::Empty(StatusCode::OK))
}

/// The body of `POST /customdata/{kind}/items`.
#[derive(Debug, Deserialize)]
struct ChangeRequest {
    #[serde(default)]
    rebuild: bool,
    #[serde(default)]
    delete: Vec<String>,
    #[serde(default)]
    list: Vec<Value>,
}

/// `POST /customdata/{kind}/items`: batch change, all or nothing.
pub async fn batch(api: &Api, kind: &str, body: Bytes) -> ApiResult {
    let doc = parse_body_off_thread(body).await?;
    let change: ChangeRequest = serde_json::from_value(doc)
        .map_err(|e| ApiError::bad_request(format!("invalid change request: {e}")))?;
    let _guard = api.lock_writes().await?;
    let store = api.sup.store().clone();
    let k = load_kind(&store, kind)?;
    let validator = k.validator()?;
    let mut ops = Vec::new();
    if change.rebuild {
        ops.extend(
            store
                .range(&keys::custom_data_items(kind))?
                .into_iter()
                .map(|(key, _)| Op::Delete(key)),
        );
    }
    for id in &change.delete {
        ops.push(Op::Delete(keys::custom_data_item(kind, id)));
    }
    for (i, item) in change.list.iter().enumerate() {
        let id = k
            .check_item(item, validator.as_ref())
            .map_err(|e| ApiError::bad_request(format!("list[{i}]: {}", e.message)))?;
        ops.push(Op::Put(
            keys::custom_data_item(kind, &id),
            serde_json::to_vec(item).unwrap_or_default(),
        ));
    }
    if !ops.is_empty() {
        blocking(move || store.apply(ops, None)).await?;
    }
    Ok(Reply::Empty(StatusCode::OK))
}
