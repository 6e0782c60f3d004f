//! Kinds, API resources and filter metadata.

use http::StatusCode;
use serde_json::{json, Map, Value};

use crate::api::Api;
use crate::reply::{ok, ApiError, ApiResult, Reply};

/// `GET /object-kinds`.
pub async fn object_kinds(api: &Api) -> ApiResult {
    let mut kinds: Vec<&str> = api.sup.kinds().iter().map(|k| k.info().kind).collect();
    kinds.sort_unstable();
    ok(json!(kinds))
}

/// `GET /object-api-resources`.
pub async fn api_resources(api: &Api) -> ApiResult {
    let list: Vec<Value> = api
        .sup
        .kinds()
        .iter()
        .map(|k| k.info())
        .map(|k| json!({"kind": k.kind, "name": k.name, "aliases": k.aliases, "category": k.category.as_str()}))
        .collect();
    ok(Value::Array(list))
}

/// `GET /objects-yaml/{kind}/{name}`: a spec template with the kind's defaults.
pub async fn object_template(api: &Api, kind: &str, name: &str) -> ApiResult {
    let k = api
        .sup
        .kinds()
        .resolve(kind)
        .ok_or_else(|| ApiError::not_found(format!("kind {kind} not found")))?
        .info();
    let mut doc = Map::new();
    doc.insert("name".into(), json!(name));
    doc.insert("kind".into(), json!(k.kind));
    if let Value::Object(defaults) = (k.default_spec)() {
        for (key, v) in defaults {
            doc.entry(key).or_insert(v);
        }
    }
    Ok(Reply::Text(
        StatusCode::OK,
        eg_spec::to_yaml(&Value::Object(doc)),
    ))
}

/// `GET /metadata/objects/pipeline/filters`.
pub async fn filter_kinds(api: &Api) -> ApiResult {
    let kinds: Vec<&str> = api.filters.iter().map(|k| k.kind).collect();
    ok(json!(kinds))
}

/// `GET /metadata/objects/pipeline/filters/{kind}/{what}`.
pub async fn filter_meta(api: &Api, kind: &str, what: &str) -> ApiResult {
    let k = api
        .filters
        .get(kind)
        .ok_or_else(|| ApiError::not_found(format!("filter kind {kind} not found")))?;
    match what {
        "description" => Ok(Reply::Text(StatusCode::OK, k.description.to_string())),
        "schema" => ok((k.schema)()),
        "results" => ok(json!(k.results)),
        _ => Err(ApiError::not_found(format!("no such metadata: {what}"))),
    }
}
