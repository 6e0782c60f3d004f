//! `/status/objects` and `/status/members`.

use eg_supervisor::ClusterRole;
use serde_json::{json, Map, Value};

use eg_store::keys;

use crate::api::Api;
use crate::objects::{blocking, stored};
use crate::reply::{ok, ApiError, ApiResult, Reply};

/// `GET /status/objects[/{name}]`: a map keyed `<ns>/<name>/<member>`: this member's live
/// statuses, and those the other members of a cluster wrote under `/status/objects/`.
pub async fn objects(api: &Api, name: Option<&str>) -> ApiResult {
    let mut map: Map<String, Value> = Map::new();
    let me = format!("/{}", api.sup.member().name);
    for (key, bytes) in api.sup.store().range(keys::STATUS_OBJECTS_PREFIX)? {
        let Some(rel) = key.strip_prefix(keys::STATUS_OBJECTS_PREFIX) else {
            continue;
        };
        // `<ns>/<name>/<member>`; this member's own come live below.
        let mut parts = rel.splitn(3, '/');
        let (Some(_ns), Some(obj), Some(_member)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        if rel.ends_with(&me) || name.is_some_and(|n| n != obj) {
            continue;
        }
        if let Ok(v) = serde_json::from_slice::<Value>(&bytes) {
            map.insert(rel.to_string(), v);
        }
    }
    let live = api.sup.statuses(name);
    if let Some(n) = name {
        if live.is_empty() && map.is_empty() && stored(api.sup.store(), n)?.is_none() {
            return Err(ApiError::not_found(format!("object {n} not found")));
        }
    }
    map.extend(live);
    let mut sorted: Vec<(String, Value)> = map.into_iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    ok(Value::Object(sorted.into_iter().collect()))
}

/// A member whose heartbeat is older than this is reported `alive: false`: three missed
/// heartbeats (members write theirs every 5 s).
pub const HEARTBEAT_DEAD_AFTER: chrono::TimeDelta = chrono::TimeDelta::seconds(15);

/// Adds the computed liveness to a member's listing: `heartbeatAge` (e.g. `"3s"`, null when
/// the time cannot be read) and `alive` (heartbeat at most [`HEARTBEAT_DEAD_AFTER`] old).
fn with_liveness(mut status: Value, now: chrono::DateTime<chrono::Utc>) -> Value {
    let age = status
        .get("lastHeartbeatTime")
        .and_then(Value::as_str)
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| (now - t.with_timezone(&chrono::Utc)).max(chrono::TimeDelta::zero()));
    if let Value::Object(m) = &mut status {
        m.insert(
            "alive".into(),
            json!(age.is_some_and(|a| a <= HEARTBEAT_DEAD_AFTER)),
        );
        m.insert(
            "heartbeatAge".into(),
            age.map_or(Value::Null, |a| json!(format!("{}s", a.num_seconds()))),
        );
    }
    status
}

fn member_name(status: &Value) -> &str {
    status
        .pointer("/options/Name")
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// `GET /status/members`: every member's last heartbeat (`/status/members/`), sorted by
/// name, with the computed liveness. A standalone server has written none: it reports
/// itself.
pub async fn members(api: &Api) -> ApiResult {
    let now = chrono::Utc::now();
    let mut list: Vec<Value> = api
        .sup
        .store()
        .range(keys::STATUS_MEMBERS_PREFIX)?
        .into_iter()
        .filter_map(|(_, v)| serde_json::from_slice::<Value>(&v).ok())
        .map(|v| with_liveness(v, now))
        .collect();
    if list.is_empty() {
        list.push(with_liveness(self_status(api, now), now));
    }
    list.sort_by(|a, b| member_name(a).cmp(member_name(b)));
    ok(Value::Array(list))
}

/// This member's listing when it writes no heartbeat (standalone).
fn self_status(api: &Api, now: chrono::DateTime<chrono::Utc>) -> Value {
    let m = api.sup.member();
    let started = api
        .sup
        .started_at()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let state = if m.cluster_role == ClusterRole::Primary {
        "Leader"
    } else {
        "Follower"
    };
    json!({
        "options": m.options,
        "lastHeartbeatTime": now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "lastDefragTime": "",
        "etcd": {"id": m.name, "startTime": started, "state": state},
    })
}

/// `DELETE /status/members/{member}`: purges another member (Easegress: its etcd
/// membership and everything under its lease), under the write lock; 404 when the cluster
/// knows no such member.
pub async fn purge_member(api: &Api, member: &str) -> ApiResult {
    if member == api.sup.member().name {
        return Err(ApiError::bad_request(format!(
            "{member} is this member and cannot be purged"
        )));
    }
    let _guard = api.lock_writes().await?;
    let store = api.sup.store().clone();
    let m = member.to_string();
    if !blocking(move || store.purge_member(&m)).await? {
        return Err(ApiError::not_found(format!("member {member} not found")));
    }
    tracing::info!(member, "member purged");
    Ok(Reply::Empty(http::StatusCode::OK))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn liveness_follows_the_heartbeat_age() {
        let now = chrono::Utc::now();
        let at = |secs| {
            (now - chrono::TimeDelta::seconds(secs))
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        };
        let v = with_liveness(json!({"lastHeartbeatTime": at(4)}), now);
        assert_eq!(
            (v["alive"].clone(), v["heartbeatAge"].clone()),
            (json!(true), json!("4s"))
        );
        let v = with_liveness(json!({"lastHeartbeatTime": at(16)}), now);
        assert_eq!(v["alive"], json!(false));
        let v = with_liveness(json!({"lastHeartbeatTime": "garbage"}), now);
        assert_eq!(
            (v["alive"].clone(), v["heartbeatAge"].clone()),
            (json!(false), Value::Null)
        );
    }
}
