//! The route table: which handler answers which method and path.

use std::collections::HashMap;

use bytes::Bytes;
use http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::api::Api;
use crate::reply::{ok, ApiError, ApiResult, Reply};
use crate::{customdata, logs, metadata, objects, profile, status, wasm, API_PREFIX};

/// Every route, as listed by `GET /apis/v2` (path templates and methods).
pub const ROUTES: &[(&str, &str)] = &[
    ("", "GET"),
    ("/healthz", "GET"),
    ("/about", "GET"),
    ("/object-kinds", "GET"),
    ("/object-kinds/{kind}/schema", "GET"),
    ("/object-api-resources", "GET"),
    ("/objects-yaml/{kind}/{name}", "GET"),
    ("/objects", "POST"),
    ("/objects", "GET"),
    ("/objects", "DELETE"),
    ("/objects/{name}", "GET"),
    ("/objects/{name}", "PUT"),
    ("/objects/{name}", "DELETE"),
    ("/status/objects", "GET"),
    ("/status/objects/{name}", "GET"),
    ("/status/members", "GET"),
    ("/status/members/{member}", "DELETE"),
    ("/metadata/objects/pipeline/filters", "GET"),
    (
        "/metadata/objects/pipeline/filters/{kind}/description",
        "GET",
    ),
    ("/metadata/objects/pipeline/filters/{kind}/schema", "GET"),
    ("/metadata/objects/pipeline/filters/{kind}/results", "GET"),
    ("/customdatakinds", "GET"),
    ("/customdatakinds", "POST"),
    ("/customdatakinds", "PUT"),
    ("/customdatakinds", "DELETE"),
    ("/customdatakinds/{name}", "GET"),
    ("/customdatakinds/{name}", "DELETE"),
    ("/customdata/{kind}", "GET"),
    ("/customdata/{kind}", "POST"),
    ("/customdata/{kind}", "PUT"),
    ("/customdata/{kind}", "DELETE"),
    ("/customdata/{kind}/items", "POST"),
    ("/customdata/{kind}/items", "DELETE"),
    ("/customdata/{kind}/{id}", "GET"),
    ("/customdata/{kind}/{id}", "DELETE"),
    ("/wasm/code", "POST"),
    ("/wasm/data/{pipeline}/{filter}", "GET"),
    ("/wasm/data/{pipeline}/{filter}", "PUT"),
    ("/wasm/data/{pipeline}/{filter}", "DELETE"),
    ("/metrics", "GET"),
    ("/logs", "GET"),
    ("/logs/level", "GET"),
    ("/logs/level/{level}", "PUT"),
    ("/profile", "GET"),
    ("/profile/start/cpu", "POST"),
    ("/profile/start/memory", "POST"),
    ("/profile/stop", "POST"),
];

/// `GET /apis/v2`: the API groups and their entries.
fn groups() -> Value {
    let entries: Vec<Value> = ROUTES
        .iter()
        .map(|(p, m)| json!({"path": if p.is_empty() { "/" } else { p }, "method": m}))
        .collect();
    json!([{"Group": "admin", "Entries": entries}])
}

const ABOUT: &str = "easegress-rs: a traffic orchestration system compatible with Easegress v2.\n\
Licensed under the Apache License, Version 2.0.\n";

/// Answers one request. `path` is below the API prefix, without a trailing slash.
pub async fn dispatch(
    api: &Api,
    method: &Method,
    path: &str,
    query: &HashMap<String, String>,
    body: Bytes,
) -> ApiResult {
    let segs: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect();
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let q = |k: &str| query.get(k).map(String::as_str);
    let m = method.as_str();
    match (m, segs.as_slice()) {
        ("GET", []) => ok(groups()),
        ("GET", ["healthz"]) => match api.sup.store().health() {
            Ok(()) => Ok(Reply::Empty(StatusCode::OK)),
            Err(why) => Err(ApiError::unavailable(format!("not ready: {why}"))),
        },
        ("GET", ["about"]) => Ok(Reply::Text(StatusCode::OK, ABOUT.to_string())),
        ("GET", ["object-kinds"]) => metadata::object_kinds(api).await,
        ("GET", ["object-kinds", kind, "schema"]) => metadata::object_kind_schema(api, kind).await,
        ("GET", ["object-api-resources"]) => metadata::api_resources(api).await,
        ("GET", ["objects-yaml", kind, name]) => metadata::object_template(api, kind, name).await,
        ("POST", ["objects"]) => objects::create(api, body, dry_run(q("dryRun"))).await,
        ("GET", ["objects"]) => {
            let all = q("all-namespaces").is_some_and(|v| v == "true");
            objects::list(api, q("namespace").filter(|n| !n.is_empty()), all).await
        }
        ("DELETE", ["objects"]) => {
            objects::delete_all(api, q("all").is_some_and(|v| v == "true")).await
        }
        ("GET", ["objects", name]) => {
            objects::get(api, name, q("namespace").filter(|n| !n.is_empty())).await
        }
        ("PUT", ["objects", name]) => objects::update(api, name, body, dry_run(q("dryRun"))).await,
        ("DELETE", ["objects", name]) => objects::delete(api, name).await,
        ("GET", ["status", "objects"]) => status::objects(api, None).await,
        ("GET", ["status", "objects", name]) => status::objects(api, Some(name)).await,
        ("GET", ["status", "members"]) => status::members(api).await,
        ("DELETE", ["status", "members", member]) => status::purge_member(api, member).await,
        ("GET", ["metadata", "objects", "pipeline", "filters"]) => {
            metadata::filter_kinds(api).await
        }
        ("GET", ["metadata", "objects", "pipeline", "filters", kind, what]) => {
            metadata::filter_meta(api, kind, what).await
        }
        ("GET", ["customdatakinds"]) => customdata::list_kinds(api).await,
        ("POST", ["customdatakinds"]) => customdata::put_kind(api, body, false).await,
        ("PUT", ["customdatakinds"]) => customdata::put_kind(api, body, true).await,
        ("DELETE", ["customdatakinds"]) => customdata::delete_kind(api, None).await,
        ("GET", ["customdatakinds", name]) => customdata::get_kind(api, name).await,
        ("DELETE", ["customdatakinds", name]) => customdata::delete_kind(api, Some(name)).await,
        ("GET", ["customdata", kind]) => customdata::list_items(api, kind).await,
        ("POST", ["customdata", kind]) => customdata::put_item(api, kind, body, true).await,
        ("PUT", ["customdata", kind]) => customdata::put_item(api, kind, body, false).await,
        ("DELETE", ["customdata", kind]) => customdata::delete_items(api, kind).await,
        ("POST", ["customdata", kind, "items"]) => customdata::batch(api, kind, body).await,
        ("DELETE", ["customdata", kind, "items"]) => customdata::delete_items(api, kind).await,
        ("GET", ["customdata", kind, id]) => customdata::get_item(api, kind, id).await,
        ("DELETE", ["customdata", kind, id]) => customdata::delete_item(api, kind, id).await,
        ("POST", ["wasm", "code"]) => wasm::reload_code(api).await,
        ("GET", ["wasm", "data", p, f]) => wasm::list_data(api, p, f).await,
        ("PUT", ["wasm", "data", p, f]) => wasm::apply_data(api, p, f, body).await,
        ("DELETE", ["wasm", "data", p, f]) => wasm::delete_data(api, p, f).await,
        ("GET", ["metrics"]) => Ok(Reply::Text(
            StatusCode::OK,
            api.sup.metrics().encode() + &eg_supervisor::process_metrics(),
        )),
        ("GET", ["logs"]) => logs::logs(api, q("tail"), q("follow")).await,
        ("GET", ["logs", "level"]) => logs::get_level(api).await,
        ("PUT", ["logs", "level", level]) => logs::set_level(api, level).await,
        ("GET", ["profile"]) => profile::info(),
        ("POST", ["profile", "start", "cpu"]) => profile::start(profile::Kind::Cpu, body).await,
        ("POST", ["profile", "start", "memory"]) => {
            profile::start(profile::Kind::Memory, body).await
        }
        ("POST", ["profile", "stop"]) => profile::stop().await,
        _ => {
            let known_path = ROUTES.iter().any(|(p, _)| template_matches(p, &segs));
            if known_path {
                Err(ApiError::new(
                    StatusCode::METHOD_NOT_ALLOWED,
                    format!("method {m} not allowed on {path}"),
                ))
            } else {
                Err(ApiError::not_found(format!(
                    "no such API: {m} {API_PREFIX}{path}"
                )))
            }
        }
    }
}

/// `?dryRun=true` (or Kubernetes' `All`): validate the write and answer as if it were
/// made, storing nothing.
fn dry_run(value: Option<&str>) -> bool {
    matches!(value, Some("true") | Some("All"))
}

fn template_matches(template: &str, segs: &[&str]) -> bool {
    let t: Vec<&str> = template.split('/').filter(|s| !s.is_empty()).collect();
    t.len() == segs.len()
        && t.iter()
            .zip(segs)
            .all(|(a, b)| a.starts_with('{') || a == b)
}
