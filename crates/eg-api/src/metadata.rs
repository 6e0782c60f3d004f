//! Kinds, API resources and filter metadata.

use http::StatusCode;
use serde_json::{json, Map, Value};

use eg_filters::FilterRegistry;
use eg_supervisor::{Category, KindRegistry};

use crate::api::Api;
use crate::reply::{ok, ApiError, ApiResult, Reply};

/// `GET /object-kinds`.
pub async fn object_kinds(api: &Api) -> ApiResult {
    let mut kinds: Vec<&str> = api.sup.kinds().iter().map(|k| k.info().kind).collect();
    kinds.sort_unstable();
    ok(json!(kinds))
}

/// `GET /object-kinds/{kind}/schema`: the JSON schema of the kind's spec (`kind` may be
/// an alias).
pub async fn object_kind_schema(api: &Api, kind: &str) -> ApiResult {
    kind_schema(&api.filters, api.sup.kinds(), kind)
        .map(ok)
        .unwrap_or_else(|| Err(ApiError::not_found(format!("kind {kind} not found"))))
}

/// The JSON schema of the spec of object kind `kind` (a name or an alias): a
/// `Pipeline`-category kind's `filters` items are checked against the filter kinds' schemas.
pub fn kind_schema(filters: &FilterRegistry, kinds: &KindRegistry, kind: &str) -> Option<Value> {
    let info = kinds.resolve(kind)?.info();
    let schema = (info.schema)();
    Some(if info.category == Category::Pipeline {
        filters.embed_in_pipeline_schema(schema)
    } else {
        schema
    })
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
