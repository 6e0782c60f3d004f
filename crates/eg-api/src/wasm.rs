//! WasmHost support: `POST /wasm/code` asks every WasmHost filter to reload its code, and
//! `/wasm/data/{pipeline}/{filter}` reads, merges and clears a filter's shared data.
//!
//! Both go through the store, as in Easegress: the reload is a write of the current time to
//! `/wasm/code`, which every WasmHost filter of every member watches; shared data lives
//! under `/wasm/data/<pipeline>/<filter>/`. Nothing here reaches running objects directly.

use bytes::Bytes;
use eg_store::{keys, Op};
use http::StatusCode;
use serde_json::{Map, Value};

use crate::api::Api;
use crate::objects::{blocking, parse_body_off_thread, stored};
use crate::reply::{ok, ApiError, ApiResult, Reply};

/// The filter kind whose data these routes manage.
const WASM_HOST: &str = "WasmHost";

/// `POST /wasm/code`.
pub async fn reload_code(api: &Api) -> ApiResult {
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    let store = api.sup.store().clone();
    let value = now.clone().into_bytes();
    blocking(move || store.put(keys::WASM_CODE_EVENT, value)).await?;
    Ok(Reply::Text(
        StatusCode::OK,
        format!("wasm code reload event posted at: {now}\n"),
    ))
}

/// Whether the stored object `pipeline` has a filter `filter` of kind WasmHost; 404 if not.
fn check_filter(api: &Api, pipeline: &str, filter: &str) -> Result<String, ApiError> {
    let found = stored(api.sup.store(), pipeline)?.is_some_and(|spec| {
        spec.doc
            .get("filters")
            .and_then(Value::as_array)
            .is_some_and(|filters| {
                filters.iter().any(|f| {
                    f.get("name").and_then(Value::as_str) == Some(filter)
                        && f.get("kind").and_then(Value::as_str) == Some(WASM_HOST)
                })
            })
    });
    if !found {
        return Err(ApiError::not_found("not found"));
    }
    Ok(keys::wasm_data(pipeline, filter))
}

/// `GET /wasm/data/{pipeline}/{filter}`: the data as a map.
pub async fn list_data(api: &Api, pipeline: &str, filter: &str) -> ApiResult {
    let prefix = check_filter(api, pipeline, filter)?;
    let data: Map<String, Value> = api
        .sup
        .store()
        .range(&prefix)?
        .into_iter()
        .map(|(k, v)| {
            let key = k.get(prefix.len()..).unwrap_or_default().to_string();
            (key, Value::String(String::from_utf8_lossy(&v).into_owned()))
        })
        .collect();
    ok(Value::Object(data))
}

/// `PUT /wasm/data/{pipeline}/{filter}`: sets every key of the body (a map of strings);
/// keys not in the body are kept.
pub async fn apply_data(api: &Api, pipeline: &str, filter: &str, body: Bytes) -> ApiResult {
    let prefix = check_filter(api, pipeline, filter)?;
    let doc = parse_body_off_thread(body).await?;
    let Value::Object(map) = doc else {
        return Err(ApiError::bad_request(
            "the body must be a map of strings to strings",
        ));
    };
    let mut ops = Vec::with_capacity(map.len());
    for (k, v) in map {
        let Value::String(v) = v else {
            return Err(ApiError::bad_request(format!(
                "{k}: the value must be a string, got {v}"
            )));
        };
        ops.push(Op::Put(format!("{prefix}{k}"), v.into_bytes()));
    }
    if !ops.is_empty() {
        let store = api.sup.store().clone();
        blocking(move || store.apply(ops, None)).await?;
    }
    Ok(Reply::Empty(StatusCode::OK))
}

/// `DELETE /wasm/data/{pipeline}/{filter}`: removes all the filter's data.
pub async fn delete_data(api: &Api, pipeline: &str, filter: &str) -> ApiResult {
    let prefix = check_filter(api, pipeline, filter)?;
    let store = api.sup.store().clone();
    let ops: Vec<Op> = store
        .range(&prefix)?
        .into_iter()
        .map(|(k, _)| Op::Delete(k))
        .collect();
    if !ops.is_empty() {
        blocking(move || store.apply(ops, None)).await?;
    }
    Ok(Reply::Empty(StatusCode::OK))
}
