//! `/status/objects` and `/status/members`.

use eg_supervisor::ClusterRole;
use serde_json::{json, Map, Value};

use crate::api::Api;
use crate::objects::stored;
use crate::reply::{ok, ApiError, ApiResult};

/// `GET /status/objects[/{name}]`: a map keyed `<ns>/<name>/<member>`.
pub async fn objects(api: &Api, name: Option<&str>) -> ApiResult {
    let statuses = api.sup.statuses(name);
    if let Some(n) = name {
        if statuses.is_empty() && stored(api.sup.store(), n)?.is_none() {
            return Err(ApiError::not_found(format!("object {n} not found")));
        }
    }
    let map: Map<String, Value> = statuses.into_iter().collect();
    ok(Value::Object(map))
}

/// `GET /status/members`: this member, with its options and heartbeat.
pub async fn members(api: &Api) -> ApiResult {
    let m = api.sup.member();
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let started = api
        .sup
        .started_at()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let state = if m.cluster_role == ClusterRole::Primary {
        "Leader"
    } else {
        "Follower"
    };
    ok(json!([{
        "options": m.options,
        "lastHeartbeatTime": now,
        "lastDefragTime": "",
        "etcd": {"id": m.name, "startTime": started, "state": state},
    }]))
}

/// `DELETE /status/members/{member}`: only other members can be purged, and a standalone
/// server has none.
pub async fn purge_member(api: &Api, member: &str) -> ApiResult {
    if member == api.sup.member().name {
        return Err(ApiError::bad_request(format!(
            "{member} is this member and cannot be purged"
        )));
    }
    Err(ApiError::not_found(format!("member {member} not found")))
}
